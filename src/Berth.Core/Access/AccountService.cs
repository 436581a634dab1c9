using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Core.Access;

public sealed record SignIn(Caller? Caller, string? Error = null, TimeSpan? RetryAfter = null);

public sealed record IssuedToken(AccessToken Token, string Secret);

/// <summary>
/// Accounts and their rights, for the management API and the CLI alike: every change is checked against the
/// actor's rights, recorded in the audit log, and makes <see cref="AccessControl"/> forget what it cached.
/// Also verifies credentials (passwords and access tokens) with the sign-in throttle.
/// </summary>
public sealed partial class AccountService(IAccountStore store, IAuditStore audit, AccessControl access, LoginThrottle throttle, TimeProvider time)
{
    public const int MinPasswordLength = 8;

    // Verifications running now, by a hash of name and secret: a client's burst of identical sign-ins pays one PBKDF2.
    private readonly ConcurrentDictionary<string, Task<Caller?>> _verifying = new(StringComparer.Ordinal);

    /// <summary>The CLI acts with the rights of the machine's operator.</summary>
    public static readonly Caller Operator = new(AccountKind.User, "(cli)", IsAdmin: true) { Address = "local" };

    [GeneratedRegex("^[a-z0-9]+(?:[._-][a-z0-9]+)*$")]
    private static partial Regex NamePattern();

    public static bool IsValidName(string name) => name.Length is >= 2 and <= 64 && NamePattern().IsMatch(name);

    // ---- Sign-in

    public async Task<SignIn> SignInAsync(string name, string secret, string? address, CancellationToken ct)
    {
        var who = new Caller(null, name) { Address = address };
        if (throttle.LockedFor(name, address) is { } locked)
        {
            await RecordAsync(who, "login", name, false, "locked out after repeated failures", ct);
            return new SignIn(null, "too many failed sign-ins; try again later", locked);
        }
        var caller = await VerifyOnceAsync(name, secret, ct);
        if (caller is null)
        {
            var isToken = Secrets.TokenId(secret) is not null;
            await RecordAsync(who, "login", name, false, isToken ? "invalid, expired or revoked token" : null, ct);
            // Only passwords can be guessed: a token has 256 random bits. A CI job retrying a revoked token must
            // not lock its owner out.
            if (!isToken) await Task.Delay(throttle.Failed(name, address), time, ct);
            return new SignIn(null, "incorrect username or password");
        }
        throttle.Succeeded(name, address);
        caller = caller with { Address = address };
        await RecordAsync(caller, "login", name, true, caller.TokenId is { } id ? $"token {id}" : "password", ct);
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
            var token = await store.GetTokenAsync(id, ct);
            if (token is null || token.Account != name || !Secrets.VerifyToken(secret, token.SecretHash)) return null;
            return await ResolveAsync(name, id, ct);
        }
        var account = await store.GetAccountAsync(name, ct);
        var user = account is { Kind: AccountKind.User } ? account : null;
        // The dummy hash costs what a real one does, so a missing account takes as long to refuse as a wrong password.
        var ok = Secrets.VerifyPassword(secret, user?.PasswordHash ?? Secrets.DummyHash);
        return ok && user is not null ? new Caller(AccountKind.User, user.Name, user.IsAdmin) : null;
    }

    /// <summary>
    /// The caller as the database says now: for refresh tokens and for bearer tokens where the live rights matter
    /// (catalog, search). Null when the account is gone or the token was revoked or expired.
    /// </summary>
    public async Task<Caller?> ResolveAsync(string name, string? tokenId, CancellationToken ct)
    {
        var account = await store.GetAccountAsync(name, ct);
        if (account is null || account.Kind == AccountKind.Organization) return null;
        IReadOnlyList<TokenScope>? scopes = null;
        if (tokenId is not null)
        {
            var token = await store.GetTokenAsync(tokenId, ct);
            if (token is null || token.Account != name || token.Revoked is not null || token.Expires <= time.GetUtcNow()) return null;
            scopes = token.Scopes;
        }
        else if (account.Kind == AccountKind.Robot)
        {
            return null;
        }
        return new Caller(account.Kind, account.Name, account.IsAdmin && account.Kind == AccountKind.User, scopes, tokenId);
    }

    // ---- Users

    /// <summary>BERTH_ADMIN_PASSWORD at start: creates the admin user or resets its password.</summary>
    public async Task EnsureAdminAsync(string password, CancellationToken ct)
    {
        RequirePassword(password);
        if (!await store.UpsertUserAsync("admin", Secrets.HashPassword(password), true, time.GetUtcNow(), ct))
        {
            throw new RegistryException(ErrorCode.Conflict, "the name \"admin\" belongs to an organisation or robot");
        }
        access.Invalidate();
        await RecordAsync(Operator with { Name = "(start)" }, "user.admin", "admin", true, "created or reset from BERTH_ADMIN_PASSWORD", ct);
    }

    public async Task<Account> CreateUserAsync(Caller actor, string name, string password, bool admin, CancellationToken ct)
    {
        RequireSiteAdmin(actor);
        RequireName(name);
        RequirePassword(password);
        var account = new Account(name, AccountKind.User, Secrets.HashPassword(password), admin, Visibility.Private, time.GetUtcNow());
        await CreateAsync(actor, account, "user.create", ct);
        return account;
    }

    public async Task SetPasswordAsync(Caller actor, string name, string password, CancellationToken ct)
    {
        Require(actor.HasFullRights && (actor.IsAdmin || actor.Name == name), "only the user or an administrator may change a password");
        RequirePassword(password);
        if (!await store.SetPasswordAsync(name, Secrets.HashPassword(password), ct)) throw NotFound("user", name);
        await ChangedAsync(actor, "user.password", name, null, ct);
    }

    public async Task DeleteAccountAsync(Caller actor, string name, CancellationToken ct)
    {
        RequireSiteAdmin(actor);
        var account = await store.GetAccountAsync(name, ct) ?? throw NotFound("account", name);
        if (account is { Kind: AccountKind.User, IsAdmin: true } && (await store.ListAccountsAsync(AccountKind.User, ct)).Count(a => a.IsAdmin) == 1)
        {
            throw LastAdministrator(name);
        }
        await store.DeleteAccountAsync(name, ct);
        await ChangedAsync(actor, "account.delete", name, null, ct);
    }

    /// <summary>Makes a user a site administrator or not; the last site administrator stays one.</summary>
    public async Task SetAdminAsync(Caller actor, string name, bool admin, CancellationToken ct)
    {
        RequireSiteAdmin(actor);
        var account = await RequireAccountAsync(name, AccountKind.User, ct);
        if (account.IsAdmin == admin) return;
        if (!admin && (await store.ListAccountsAsync(AccountKind.User, ct)).Count(a => a.IsAdmin) == 1) throw LastAdministrator(name);
        if (!await store.SetAdminAsync(name, admin, ct)) throw NotFound("user", name);
        await ChangedAsync(actor, "user.admin", name, admin ? "on" : "off", ct);
    }

    private static RegistryException LastAdministrator(string name) =>
        new(ErrorCode.Conflict, $"{name} is the last site administrator; make another user one first (berth user admin NAME on)");

    public async Task<IReadOnlyList<Account>> ListAccountsAsync(Caller actor, AccountKind? kind, CancellationToken ct)
    {
        RequireSiteAdmin(actor);
        return await store.ListAccountsAsync(kind, ct);
    }

    // ---- Organisations and teams

    /// <summary>A new organisation owned by <paramref name="owner"/>, else by its creator unless that is a site administrator.</summary>
    public async Task<Account> CreateOrganizationAsync(Caller actor, string name, string? owner, CancellationToken ct)
    {
        Require(actor.HasFullRights, "sign in with a password or an unrestricted token to create an organisation");
        RequireName(name);
        if (owner is not null)
        {
            Require(actor.IsAdmin || owner == actor.Name, "only an administrator may make someone else the owner of a new organisation");
            await RequireAccountAsync(owner, AccountKind.User, ct);
        }
        else if (actor != Operator && !actor.IsAdmin)
        {
            owner = actor.Name;
        }
        var org = new Account(name, AccountKind.Organization, null, false, Visibility.Private, time.GetUtcNow());
        await CreateAsync(actor, org, "org.create", ct);
        if (owner is not null)
        {
            await store.SetMemberAsync(name, owner, true, ct);
            await ChangedAsync(actor, "org.member", $"{name}/{owner}", "owner", ct);
        }
        return org;
    }

    public async Task SetMemberAsync(Caller actor, string org, string user, bool owner, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        await RequireAccountAsync(user, AccountKind.User, ct);
        await store.SetMemberAsync(org, user, owner, ct);
        await ChangedAsync(actor, "org.member", $"{org}/{user}", owner ? "owner" : "member", ct);
    }

    public async Task RemoveMemberAsync(Caller actor, string org, string user, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        if (!await store.RemoveMemberAsync(org, user, ct)) throw NotFound("member", user);
        await ChangedAsync(actor, "org.member.remove", $"{org}/{user}", null, ct);
    }

    public async Task<IReadOnlyList<Member>> ListMembersAsync(Caller actor, string org, CancellationToken ct)
    {
        await RequireOrgAsync(org, ct);
        Require(!actor.IsAnonymous, "sign in to see an organisation's members");
        return await store.ListMembersAsync(org, ct);
    }

    public async Task CreateTeamAsync(Caller actor, string org, string team, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        RequireName(team);
        if (!await store.CreateTeamAsync(org, team, time.GetUtcNow(), ct)) throw new RegistryException(ErrorCode.Conflict, $"team {org}/{team} exists");
        await ChangedAsync(actor, "team.create", $"{org}/{team}", null, ct);
    }

    public async Task DeleteTeamAsync(Caller actor, string org, string team, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        if (!await store.DeleteTeamAsync(org, team, ct)) throw NotFound("team", $"{org}/{team}");
        await ChangedAsync(actor, "team.delete", $"{org}/{team}", null, ct);
    }

    public async Task AddTeamMemberAsync(Caller actor, string org, string team, string user, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        await RequireAccountAsync(user, null, ct);
        if (!await store.AddTeamMemberAsync(org, team, user, ct)) throw NotFound("team", $"{org}/{team}");
        await ChangedAsync(actor, "team.member", $"{org}/{team}/{user}", null, ct);
    }

    public async Task RemoveTeamMemberAsync(Caller actor, string org, string team, string user, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        if (!await store.RemoveTeamMemberAsync(org, team, user, ct)) throw NotFound("team member", $"{org}/{team}/{user}");
        await ChangedAsync(actor, "team.member.remove", $"{org}/{team}/{user}", null, ct);
    }

    public async Task<IReadOnlyList<Team>> ListTeamsAsync(Caller actor, string org, CancellationToken ct)
    {
        await RequireOrgAsync(org, ct);
        Require(!actor.IsAnonymous, "sign in to see an organisation's teams");
        return await store.ListTeamsAsync(org, ct);
    }

    // ---- Grants and visibility

    /// <summary>Grants <paramref name="role"/> (None revokes) on a namespace or repository to "user:NAME" or "team:ORG/TEAM".</summary>
    public async Task SetGrantAsync(Caller actor, string target, bool isNamespace, string subject, Role role, CancellationToken ct)
    {
        await RequireTargetAdminAsync(actor, target, isNamespace, ct);
        if (subject.StartsWith("user:", StringComparison.Ordinal))
        {
            await RequireAccountAsync(subject[5..], null, ct);
        }
        else if (subject.StartsWith("team:", StringComparison.Ordinal) && subject[5..].Split('/') is [var org, var team])
        {
            if (!(await store.ListTeamsAsync(org, ct)).Any(t => t.Name == team)) throw NotFound("team", subject[5..]);
        }
        else
        {
            throw new RegistryException(ErrorCode.InvalidRequest, "subject must be user:NAME or team:ORG/TEAM");
        }
        await store.SetGrantAsync(new Grant(target, isNamespace, subject, role), time.GetUtcNow(), ct);
        await ChangedAsync(actor, "grant", (isNamespace ? "namespace " : "repository ") + target, $"{subject} {AccessText.Format(role)}", ct);
    }

    public async Task<IReadOnlyList<Grant>> ListGrantsAsync(Caller actor, string target, bool isNamespace, CancellationToken ct)
    {
        await RequireTargetAdminAsync(actor, target, isNamespace, ct);
        return await store.ListGrantsAsync(target, isNamespace, ct);
    }

    public async Task SetVisibilityAsync(Caller actor, string repository, Visibility visibility, CancellationToken ct)
    {
        await RequireTargetAdminAsync(actor, repository, false, ct);
        await store.SetVisibilityAsync(repository, visibility, time.GetUtcNow(), ct);
        await ChangedAsync(actor, "visibility", repository, AccessText.Format(visibility), ct);
    }

    public async Task SetDescriptionAsync(Caller actor, string repository, string? description, CancellationToken ct)
    {
        await RequireTargetAdminAsync(actor, repository, false, ct);
        await store.SetDescriptionAsync(repository, description, time.GetUtcNow(), ct);
        await ChangedAsync(actor, "description", repository, null, ct);
    }

    public async Task SetDefaultVisibilityAsync(Caller actor, string ns, Visibility visibility, CancellationToken ct)
    {
        await RequireTargetAdminAsync(actor, ns, true, ct);
        await RequireAccountAsync(ns, null, ct);
        await store.SetDefaultVisibilityAsync(ns, visibility, ct);
        await ChangedAsync(actor, "namespace.visibility", ns, AccessText.Format(visibility), ct);
    }

    // ---- Tokens and robots

    /// <summary>A robot account NAMESPACE+NAME: signs in only with its tokens and acts only inside its namespace, within their scopes.</summary>
    public async Task<Account> CreateRobotAsync(Caller actor, string ns, string name, CancellationToken ct)
    {
        await RequireTargetAdminAsync(actor, ns, true, ct);
        await RequireAccountAsync(ns, null, ct);
        RequireName(name);
        var robot = new Account($"{ns}+{name}", AccountKind.Robot, null, false, Visibility.Private, time.GetUtcNow());
        await CreateAsync(actor, robot, "robot.create", ct);
        return robot;
    }

    /// <summary>
    /// The one rule for token scopes, for the API and the CLI alike: a token names what it is for, at least one
    /// PATTERN:ACTIONS; there is no default. <c>*:*</c> is everything its account may do.
    /// </summary>
    public static IReadOnlyList<TokenScope> ParseScopes(IEnumerable<string> texts)
    {
        var scopes = texts.Select(t => TokenScope.Parse(t) ?? throw new RegistryException(ErrorCode.InvalidRequest,
            $"scope \"{ErrorDetail.Clip(t)}\" is not PATTERN:ACTIONS, such as acme/api:pull or acme/*:pull,push")).ToList();
        return scopes.Count > 0 ? scopes : throw NoScope();
    }

    private static RegistryException NoScope() =>
        new(ErrorCode.InvalidRequest, "a token needs at least one scope, such as acme/*:pull or *:pull,push (*:* for everything its account may do)");

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
        await store.CreateTokenAsync(token, ct);
        await RecordAsync(actor, "token.create", $"{owner.Name}/{id}", true, string.Join(' ', scopes), ct);
        return new IssuedToken(token, secret);
    }

    public async Task<IReadOnlyList<AccessToken>> ListTokensAsync(Caller actor, string account, CancellationToken ct)
    {
        await RequireTokenManagerAsync(actor, account, ct);
        return await store.ListTokensAsync(account, ct);
    }

    public async Task RevokeTokenAsync(Caller actor, string id, CancellationToken ct)
    {
        var token = await store.GetTokenAsync(id, ct) ?? throw NotFound("token", id);
        await RequireTokenManagerAsync(actor, token.Account, ct);
        if (!await store.RevokeTokenAsync(id, time.GetUtcNow(), ct)) throw new RegistryException(ErrorCode.Conflict, $"token {id} is already revoked");
        await ChangedAsync(actor, "token.revoke", $"{token.Account}/{id}", null, ct);
    }

    // ---- Repositories nobody but site administrators can reach

    public ValueTask<bool> IsAuthenticationOnAsync(CancellationToken ct) => access.IsEnabledAsync(ct);

    /// <summary>
    /// With authentication on, says how many repositories only site administrators can reach (private, in a namespace that
    /// is no user or organisation, with no grant), and how to open them up; null when there are none. Repositories pushed
    /// while no user existed end up so: nobody owned their namespace.
    /// </summary>
    public async Task<string?> AdminOnlyRepositoriesNoticeAsync(CancellationToken ct)
    {
        if (!await access.IsEnabledAsync(ct)) return null;
        var (count, first) = await store.AdminOnlyRepositoriesAsync(3, ct);
        if (count == 0) return null;
        var names = string.Join(", ", first) + (count > first.Count ? ", ..." : "");
        return $"{count} {(count == 1 ? "repository" : "repositories")} ({names}) can be reached by site administrators only: private, in a namespace " +
            "that belongs to no user or organisation (as is whatever was pushed while no user existed). Open them up with " +
            "'berth repo visibility NAME public', 'berth grant read user:USER NAME', or by creating the organisation their namespace is named after " +
            "('berth org add NAMESPACE --owner USER')";
    }

    // ---- Audit

    public Task RecordAsync(Caller actor, string action, string target, bool success, string? detail, CancellationToken ct) =>
        audit.AppendAsync(new AuditEvent(0, time.GetUtcNow(), actor.Name ?? "anonymous", actor.Address, action, target, success, detail), ct);

    public async Task<IReadOnlyList<AuditEvent>> QueryAuditAsync(Caller actor, AuditQuery query, CancellationToken ct)
    {
        RequireSiteAdmin(actor);
        return await audit.QueryAsync(query, ct);
    }

    // ---- Checks

    private async Task ChangedAsync(Caller actor, string action, string target, string? detail, CancellationToken ct)
    {
        access.Invalidate();
        await RecordAsync(actor, action, target, true, detail, ct);
    }

    private async Task CreateAsync(Caller actor, Account account, string action, CancellationToken ct)
    {
        if (!await store.CreateAccountAsync(account, ct)) throw new RegistryException(ErrorCode.Conflict, $"the name {account.Name} is taken");
        await ChangedAsync(actor, action, account.Name, account.IsAdmin ? "administrator" : null, ct);
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new RegistryException(ErrorCode.Denied, message);
    }

    private static void RequireSiteAdmin(Caller actor) => Require(actor.IsAdmin && actor.HasFullRights, "only an administrator may do this");

    private static void RequireName(string name)
    {
        if (!IsValidName(name)) throw new RegistryException(ErrorCode.InvalidRequest, $"\"{ErrorDetail.Clip(name)}\" is not a valid name: 2-64 of a-z, 0-9, and . _ - between them");
    }

    private static void RequirePassword(string password)
    {
        if (password.Length < MinPasswordLength) throw new RegistryException(ErrorCode.InvalidRequest, $"a password needs at least {MinPasswordLength} characters");
    }

    private static RegistryException NotFound(string what, string name) => new(ErrorCode.NotFound, $"no {what} {ErrorDetail.Clip(name)}");

    private async Task<Account> RequireAccountAsync(string name, AccountKind? kind, CancellationToken ct)
    {
        var account = await store.GetAccountAsync(name, ct);
        return account is not null && (kind is null || account.Kind == kind) ? account : throw NotFound(kind == AccountKind.User ? "user" : "account", name);
    }

    private Task<Account> RequireOrgAsync(string org, CancellationToken ct) => RequireAccountAsync(org, AccountKind.Organization, ct);

    private async Task RequireOrgOwnerAsync(Caller actor, string org, CancellationToken ct)
    {
        await RequireOrgAsync(org, ct);
        Require(await access.NamespaceRoleAsync(actor, org, ct) == Role.Admin, $"only an owner of {org} may do this");
    }

    private async Task RequireTargetAdminAsync(Caller actor, string target, bool isNamespace, CancellationToken ct)
    {
        var admin = isNamespace
            ? await access.NamespaceRoleAsync(actor, target, ct) == Role.Admin
            : actor.HasFullRights && (await access.DecideAsync(actor, target, RepoActions.All, ct)) == RepoActions.All;
        Require(admin, $"only an administrator of {target} may do this");
    }

    private async Task<Account> RequireTokenManagerAsync(Caller actor, string account, CancellationToken ct)
    {
        Require(actor.HasFullRights, "sign in with a password or an unrestricted token to manage tokens");
        var owner = await RequireAccountAsync(account, null, ct);
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
