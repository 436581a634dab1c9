using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Core.Access;

public sealed record SignIn(Caller? Caller, string? Error = null, TimeSpan? RetryAfter = null);

/// <summary>
/// Verifies credentials (passwords and access tokens) with the sign-in throttle, and resolves who a caller is now.
/// <paramref name="verifyPassword"/> checks a password against a stored hash (default <see cref="Secrets.VerifyPassword"/>); the
/// executable passes one that also knows the bcrypt hashes imported from an htpasswd file.
/// </summary>
public sealed class SignInService(IAccounts accounts, ITokens tokens, AuditTrail audit, LoginThrottle throttle, TimeProvider time,
    Func<string, string?, bool>? verifyPassword = null)
{
    private readonly Func<string, string?, bool> _verifyPassword = verifyPassword ?? Secrets.VerifyPassword;

    // Verifications running now, by a hash of name and secret: a client's burst of identical sign-ins pays one PBKDF2.
    private readonly ConcurrentDictionary<string, Task<Caller?>> _verifying = new(StringComparer.Ordinal);

    public async Task<SignIn> SignInAsync(string name, string secret, string? address, CancellationToken ct)
    {
        var who = new Caller(null, name) { Address = address };
        var (locked, hasFailures) = await throttle.CheckAsync(name, address, ct);
        if (locked is not null)
        {
            await audit.RecordAsync(who, "login", name, false, "locked out after repeated failures", ct);
            return new SignIn(null, "too many failed sign-ins; try again later", locked);
        }
        var caller = await VerifyOnceAsync(name, secret, ct);
        if (caller is null)
        {
            var isToken = Secrets.TokenId(secret) is not null;
            await audit.RecordAsync(who, "login", name, false, isToken ? "invalid, expired or revoked token" : null, ct);
            // Only passwords can be guessed: a token has 256 random bits. A CI job retrying a revoked token must
            // not lock its owner out.
            if (!isToken) await Task.Delay(await throttle.FailedAsync(name, address, ct), time, ct);
            return new SignIn(null, "incorrect username or password");
        }
        if (hasFailures) await throttle.SucceededAsync(name, address, ct);
        caller = caller with { Address = address };
        await audit.RecordAsync(caller, "login", name, true, caller.TokenId is { } id ? $"token {id}" : "password", ct);
        return new SignIn(caller);
    }

    /// <summary>
    /// <see cref="VerifyAsync"/>, shared by concurrent callers with the same credentials. Only the verification is
    /// shared: each attempt is still checked for lockout, audited and counted by the throttle on its own.
    /// </summary>
    private async Task<Caller?> VerifyOnceAsync(string name, string secret, CancellationToken ct)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(name + "\n" + secret)));
        var mine = new TaskCompletionSource<Caller?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var flight = _verifying.GetOrAdd(key, mine.Task);
        if (flight != mine.Task) return await flight.WaitAsync(ct);
        try
        {
            // Not the caller's token: others wait on this verification even if this caller goes away.
            mine.SetResult(await VerifyAsync(name, secret, CancellationToken.None));
        }
        catch (Exception e)
        {
            mine.SetException(e);
        }
        finally
        {
            _verifying.TryRemove(new KeyValuePair<string, Task<Caller?>>(key, mine.Task));
        }
        return await mine.Task;
    }

    private async Task<Caller?> VerifyAsync(string name, string secret, CancellationToken ct)
    {
        if (Secrets.TokenId(secret) is { } id)
        {
            var token = await tokens.GetTokenAsync(id, ct);
            if (token is null || token.Account != name || !Secrets.VerifyToken(secret, token.SecretHash)) return null;
            return await ResolveAsync(name, id, ct);
        }
        var account = await accounts.GetAccountAsync(name, ct);
        var user = account is { Kind: AccountKind.User } ? account : null;
        // The dummy hash costs what a real one does, so a missing account takes as long to refuse as a wrong password.
        var ok = _verifyPassword(secret, user?.PasswordHash ?? Secrets.DummyHash);
        return ok && user is not null ? new Caller(AccountKind.User, user.Name, user.IsAdmin) : null;
    }

    /// <summary>
    /// The caller as the database says now: for refresh tokens and for bearer tokens where the live rights matter
    /// (catalog, search). Null when the account is gone or the token was revoked or expired.
    /// </summary>
    public async Task<Caller?> ResolveAsync(string name, string? tokenId, CancellationToken ct)
    {
        var account = await accounts.GetAccountAsync(name, ct);
        if (account is null || account.Kind == AccountKind.Organization) return null;
        IReadOnlyList<TokenScope>? scopes = null;
        if (tokenId is not null)
        {
            var token = await tokens.GetTokenAsync(tokenId, ct);
            if (token is null || token.Account != name || token.Revoked is not null || token.Expires <= time.GetUtcNow()) return null;
            scopes = token.Scopes;
        }
        else if (account.Kind == AccountKind.Robot)
        {
            return null;
        }
        return new Caller(account.Kind, account.Name, account.IsAdmin && account.Kind == AccountKind.User, scopes, tokenId);
    }
}
