using Berth.Core.Metadata;
using static Berth.Core.Access.AccountRules;

namespace Berth.Core.Access;

/// <summary>
/// Administration of accounts and rights, for the management API and the CLI alike: users, organisations and their
/// members and teams, robots, grants, repository and namespace visibility, descriptions. Every change is checked against
/// the actor's rights, recorded in the audit log, and makes <see cref="AccessControl"/> forget what it cached.
/// </summary>
public sealed class Administration(IAccounts accounts, IRepositories repositories, AccessControl access, AuditTrail audit, TimeProvider time)
{
    /// <summary>The caller's own account; null when it is gone.</summary>
    public Task<Account?> GetOwnAccountAsync(Caller actor, CancellationToken ct) =>
        actor.Name is { } name ? accounts.GetAccountAsync(name, ct) : Task.FromResult<Account?>(null);

    // ---- Users

    /// <summary>BERTH_ADMIN_PASSWORD at start: creates the admin user or resets its password.</summary>
    public async Task EnsureAdminAsync(string password, CancellationToken ct)
    {
        RequirePassword(password);
        if (!await accounts.UpsertUserAsync("admin", Secrets.HashPassword(password), true, time.GetUtcNow(), ct))
        {
            throw new RegistryException(ErrorCode.Conflict, "the name \"admin\" belongs to an organisation or robot");
        }
        access.Invalidate();
        await audit.RecordAsync(Operator with { Name = "(start)" }, "user.admin", "admin", true, "created or reset from BERTH_ADMIN_PASSWORD", ct);
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
        if (!await accounts.SetPasswordAsync(name, Secrets.HashPassword(password), ct)) throw NotFound("user", name);
        await audit.ChangedAsync(actor, "user.password", name, null, ct);
    }

    public async Task DeleteAccountAsync(Caller actor, string name, CancellationToken ct)
    {
        RequireSiteAdmin(actor);
        var account = await accounts.GetAccountAsync(name, ct) ?? throw NotFound("account", name);
        if (account is { Kind: AccountKind.User, IsAdmin: true } && (await accounts.ListAccountsAsync(AccountKind.User, ct)).Count(a => a.IsAdmin) == 1)
        {
            throw LastAdministrator(name);
        }
        await accounts.DeleteAccountAsync(name, time.GetUtcNow(), ct);
        await audit.ChangedAsync(actor, "account.delete", name, null, ct);
    }

    /// <summary>Makes a user a site administrator or not; the last site administrator stays one.</summary>
    public async Task SetAdminAsync(Caller actor, string name, bool admin, CancellationToken ct)
    {
        RequireSiteAdmin(actor);
        var account = await RequireAccountAsync(accounts, name, AccountKind.User, ct);
        if (account.IsAdmin == admin) return;
        if (!admin && (await accounts.ListAccountsAsync(AccountKind.User, ct)).Count(a => a.IsAdmin) == 1) throw LastAdministrator(name);
        if (!await accounts.SetAdminAsync(name, admin, ct)) throw NotFound("user", name);
        await audit.ChangedAsync(actor, "user.admin", name, admin ? "on" : "off", ct);
    }

    private static RegistryException LastAdministrator(string name) =>
        new(ErrorCode.Conflict, $"{name} is the last site administrator; make another user one first (berth user admin NAME on)");

    public async Task<IReadOnlyList<Account>> ListAccountsAsync(Caller actor, AccountKind? kind, CancellationToken ct)
    {
        RequireSiteAdmin(actor);
        return await accounts.ListAccountsAsync(kind, ct);
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
            await RequireAccountAsync(accounts, owner, AccountKind.User, ct);
        }
        else if (actor != Operator && !actor.IsAdmin)
        {
            owner = actor.Name;
        }
        var org = new Account(name, AccountKind.Organization, null, false, Visibility.Private, time.GetUtcNow());
        await CreateAsync(actor, org, "org.create", ct);
        if (owner is not null)
        {
            await accounts.SetMemberAsync(name, owner, true, ct);
            await audit.ChangedAsync(actor, "org.member", $"{name}/{owner}", "owner", ct);
        }
        return org;
    }

    public async Task SetMemberAsync(Caller actor, string org, string user, bool owner, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        await RequireAccountAsync(accounts, user, AccountKind.User, ct);
        await accounts.SetMemberAsync(org, user, owner, ct);
        await audit.ChangedAsync(actor, "org.member", $"{org}/{user}", owner ? "owner" : "member", ct);
    }

    public async Task RemoveMemberAsync(Caller actor, string org, string user, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        if (!await accounts.RemoveMemberAsync(org, user, ct)) throw NotFound("member", user);
        await audit.ChangedAsync(actor, "org.member.remove", $"{org}/{user}", null, ct);
    }

    public async Task<IReadOnlyList<Member>> ListMembersAsync(Caller actor, string org, CancellationToken ct)
    {
        await RequireOrgAsync(org, ct);
        Require(!actor.IsAnonymous, "sign in to see an organisation's members");
        return await accounts.ListMembersAsync(org, ct);
    }

    public async Task CreateTeamAsync(Caller actor, string org, string team, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        RequireName(team);
        if (!await accounts.CreateTeamAsync(org, team, time.GetUtcNow(), ct)) throw new RegistryException(ErrorCode.Conflict, $"team {org}/{team} exists");
        await audit.ChangedAsync(actor, "team.create", $"{org}/{team}", null, ct);
    }

    public async Task DeleteTeamAsync(Caller actor, string org, string team, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        if (!await accounts.DeleteTeamAsync(org, team, ct)) throw NotFound("team", $"{org}/{team}");
        await audit.ChangedAsync(actor, "team.delete", $"{org}/{team}", null, ct);
    }

    public async Task AddTeamMemberAsync(Caller actor, string org, string team, string user, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        await RequireAccountAsync(accounts, user, null, ct);
        if (!await accounts.AddTeamMemberAsync(org, team, user, ct)) throw NotFound("team", $"{org}/{team}");
        await audit.ChangedAsync(actor, "team.member", $"{org}/{team}/{user}", null, ct);
    }

    public async Task RemoveTeamMemberAsync(Caller actor, string org, string team, string user, CancellationToken ct)
    {
        await RequireOrgOwnerAsync(actor, org, ct);
        if (!await accounts.RemoveTeamMemberAsync(org, team, user, ct)) throw NotFound("team member", $"{org}/{team}/{user}");
        await audit.ChangedAsync(actor, "team.member.remove", $"{org}/{team}/{user}", null, ct);
    }

    public async Task<IReadOnlyList<Team>> ListTeamsAsync(Caller actor, string org, CancellationToken ct)
    {
        await RequireOrgAsync(org, ct);
        Require(!actor.IsAnonymous, "sign in to see an organisation's teams");
        return await accounts.ListTeamsAsync(org, ct);
    }

    // ---- Grants and visibility

    /// <summary>Grants <paramref name="role"/> (None revokes) on a namespace or repository to "user:NAME" or "team:ORG/TEAM".</summary>
    public async Task SetGrantAsync(Caller actor, string target, bool isNamespace, string subject, Role role, CancellationToken ct)
    {
        await RequireTargetAdminAsync(access, actor, target, isNamespace, ct);
        if (subject.StartsWith("user:", StringComparison.Ordinal))
        {
            await RequireAccountAsync(accounts, subject[5..], null, ct);
        }
        else if (subject.StartsWith("team:", StringComparison.Ordinal) && subject[5..].Split('/') is [var org, var team])
        {
            if (!(await accounts.ListTeamsAsync(org, ct)).Any(t => t.Name == team)) throw NotFound("team", subject[5..]);
        }
        else
        {
            throw new RegistryException(ErrorCode.InvalidRequest, "subject must be user:NAME or team:ORG/TEAM");
        }
        await accounts.SetGrantAsync(new Grant(target, isNamespace, subject, role), time.GetUtcNow(), ct);
        await audit.ChangedAsync(actor, "grant", (isNamespace ? "namespace " : "repository ") + target, $"{subject} {AccessText.Format(role)}", ct);
    }

    public async Task<IReadOnlyList<Grant>> ListGrantsAsync(Caller actor, string target, bool isNamespace, CancellationToken ct)
    {
        await RequireTargetAdminAsync(access, actor, target, isNamespace, ct);
        return await accounts.ListGrantsAsync(target, isNamespace, ct);
    }

    public async Task SetVisibilityAsync(Caller actor, string repository, Visibility visibility, CancellationToken ct)
    {
        await RequireTargetAdminAsync(access, actor, repository, false, ct);
        await repositories.SetVisibilityAsync(repository, visibility, time.GetUtcNow(), ct);
        await audit.ChangedAsync(actor, "visibility", repository, AccessText.Format(visibility), ct);
    }

    public async Task SetDescriptionAsync(Caller actor, string repository, string? description, CancellationToken ct)
    {
        await RequireTargetAdminAsync(access, actor, repository, false, ct);
        await repositories.SetDescriptionAsync(repository, description, time.GetUtcNow(), ct);
        await audit.ChangedAsync(actor, "description", repository, null, ct);
    }

    public async Task SetDefaultVisibilityAsync(Caller actor, string ns, Visibility visibility, CancellationToken ct)
    {
        await RequireTargetAdminAsync(access, actor, ns, true, ct);
        await RequireAccountAsync(accounts, ns, null, ct);
        await repositories.SetNamespaceVisibilityAsync(ns, visibility, time.GetUtcNow(), ct);
        await audit.ChangedAsync(actor, "namespace.visibility", ns, AccessText.Format(visibility), ct);
    }

    /// <summary>Marks a namespace or repository official, or not (site administrators); "library/" is official without a mark.</summary>
    public async Task SetOfficialAsync(Caller actor, string target, bool isNamespace, bool official, CancellationToken ct)
    {
        RequireSiteAdmin(actor);
        if (!Names.IsValidRepository(target) || (isNamespace && target.Contains('/')))
        {
            throw new RegistryException(ErrorCode.NameInvalid, $"\"{ErrorDetail.Clip(target)}\" is not a valid {(isNamespace ? "namespace" : "repository name")}");
        }
        if (await repositories.SetOfficialAsync(target, isNamespace, official, time.GetUtcNow(), ct))
        {
            await audit.ChangedAsync(actor, "official", (isNamespace ? "namespace:" : "") + target, official ? "on" : "off", ct);
        }
    }

    public async Task<IReadOnlyList<OfficialMark>> ListOfficialAsync(Caller actor, CancellationToken ct)
    {
        RequireSiteAdmin(actor);
        return await repositories.ListOfficialAsync(ct);
    }

    /// <summary>A robot account NAMESPACE+NAME: signs in only with its tokens and acts only inside its namespace, within their scopes.</summary>
    public async Task<Account> CreateRobotAsync(Caller actor, string ns, string name, CancellationToken ct)
    {
        await RequireTargetAdminAsync(access, actor, ns, true, ct);
        await RequireAccountAsync(accounts, ns, null, ct);
        RequireName(name);
        var robot = new Account($"{ns}+{name}", AccountKind.Robot, null, false, Visibility.Private, time.GetUtcNow());
        await CreateAsync(actor, robot, "robot.create", ct);
        return robot;
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
        var (count, first) = await repositories.AdminOnlyAsync(3, ct);
        if (count == 0) return null;
        var names = string.Join(", ", first) + (count > first.Count ? ", ..." : "");
        return $"{count} {(count == 1 ? "repository" : "repositories")} ({names}) can be reached by site administrators only: private, in a namespace " +
            "that belongs to no user or organisation (as is whatever was pushed while no user existed). Open them up with " +
            "'berth repo visibility NAME public', 'berth grant read user:USER NAME', or by creating the organisation their namespace is named after " +
            "('berth org add NAMESPACE --owner USER')";
    }

    private async Task CreateAsync(Caller actor, Account account, string action, CancellationToken ct)
    {
        if (!await accounts.CreateAccountAsync(account, ct)) throw new RegistryException(ErrorCode.Conflict, $"the name {account.Name} is taken");
        await audit.ChangedAsync(actor, action, account.Name, account.IsAdmin ? "administrator" : null, ct);
    }

    private Task<Account> RequireOrgAsync(string org, CancellationToken ct) => RequireAccountAsync(accounts, org, AccountKind.Organization, ct);

    private async Task RequireOrgOwnerAsync(Caller actor, string org, CancellationToken ct)
    {
        await RequireOrgAsync(org, ct);
        Require(await access.NamespaceRoleAsync(actor, org, ct) == Role.Admin, $"only an owner of {org} may do this");
    }
}
