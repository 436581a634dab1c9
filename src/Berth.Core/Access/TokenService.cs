using static Berth.Core.Access.AccountRules;

namespace Berth.Core.Access;

public sealed record IssuedToken(AccessToken Token, string Secret);

/// <summary>Access tokens: a user's for itself, a robot's by its namespace's administrators. Changes are audited.</summary>
public sealed class TokenService(IAccounts accounts, ITokens tokens, AccessControl access, AuditTrail audit, TimeProvider time)
{
    /// <summary>A new access token for <paramref name="account"/> (a user for itself, or a robot its namespace's admin manages).</summary>
    public async Task<IssuedToken> CreateTokenAsync(Caller actor, string account, string name, IReadOnlyList<TokenScope> scopes, DateTimeOffset? expires, CancellationToken ct)
    {
        var owner = await RequireTokenManagerAsync(actor, account, ct);
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100) throw new RegistryException(ErrorCode.InvalidRequest, "a token needs a name of at most 100 characters");
        if (scopes.Count == 0) throw NoScope();
        if (expires is { } e && e <= time.GetUtcNow()) throw new RegistryException(ErrorCode.InvalidRequest, "the expiry is in the past");
        if (owner.Kind == AccountKind.Robot)
        {
            var ns = AccessControl.RobotNamespace(owner.Name);
            if (scopes.Any(s => s.Pattern != ns + "/*" && !s.Pattern.StartsWith(ns + "/", StringComparison.Ordinal)))
            {
                throw new RegistryException(ErrorCode.InvalidRequest, $"a robot of {ns} may only have scopes inside {ns}/");
            }
        }
        var (id, secret, hash) = Secrets.NewToken();
        var token = new AccessToken(id, owner.Name, name, hash, scopes, time.GetUtcNow(), expires, null);
        await tokens.CreateTokenAsync(token, ct);
        await audit.RecordAsync(actor, "token.create", $"{owner.Name}/{id}", true, string.Join(' ', scopes), ct);
        return new IssuedToken(token, secret);
    }

    public async Task<IReadOnlyList<AccessToken>> ListTokensAsync(Caller actor, string account, CancellationToken ct)
    {
        await RequireTokenManagerAsync(actor, account, ct);
        return await tokens.ListTokensAsync(account, ct);
    }

    public async Task RevokeTokenAsync(Caller actor, string id, CancellationToken ct)
    {
        var token = await tokens.GetTokenAsync(id, ct) ?? throw NotFound("token", id);
        await RequireTokenManagerAsync(actor, token.Account, ct);
        if (!await tokens.RevokeTokenAsync(id, time.GetUtcNow(), ct)) throw new RegistryException(ErrorCode.Conflict, $"token {id} is already revoked");
        await audit.ChangedAsync(actor, "token.revoke", $"{token.Account}/{id}", null, ct);
    }

    private async Task<Account> RequireTokenManagerAsync(Caller actor, string account, CancellationToken ct)
    {
        Require(actor.HasFullRights, "sign in with a password or an unrestricted token to manage tokens");
        var owner = await RequireAccountAsync(accounts, account, null, ct);
        var allowed = owner.Kind switch
        {
            AccountKind.User => actor.IsAdmin || actor.Name == owner.Name,
            AccountKind.Robot => await access.NamespaceRoleAsync(actor, AccessControl.RobotNamespace(owner.Name), ct) == Role.Admin,
            _ => false,
        };
        Require(allowed, $"you may not manage the tokens of {account}");
        return owner;
    }
}
