namespace Berth.Core.Access;

/// <param name="PasswordHash">Users only; robots sign in with tokens, organisations not at all.</param>
/// <param name="DefaultVisibility">For a namespace (user or organisation): the visibility of repositories created in it.</param>
public sealed record Account(string Name, AccountKind Kind, string? PasswordHash, bool IsAdmin, Visibility DefaultVisibility, DateTimeOffset Created);

/// <summary>A role on a namespace (<paramref name="IsNamespace"/>) or a repository, for <c>user:NAME</c> or <c>team:ORG/TEAM</c>.</summary>
public sealed record Grant(string Target, bool IsNamespace, string Subject, Role Role);

public sealed record Member(string User, bool Owner);

public sealed record Team(string Organization, string Name, IReadOnlyList<string> Members);

/// <param name="SecretHash">SHA-256 of the secret, hex; the secret itself is shown once and never stored.</param>
public sealed record AccessToken(string Id, string Account, string Name, string SecretHash, IReadOnlyList<TokenScope> Scopes,
    DateTimeOffset Created, DateTimeOffset? Expires, DateTimeOffset? Revoked);

public sealed record RepositoryEntry(string Name, string? Description);

/// <summary>
/// Accounts (users, robots, organisations share one set of names, which are also namespaces), organisation
/// members and teams, grants, access tokens and repository settings. Contract for every backend:
/// absent things are null, false or empty, never an exception; names are validated by the caller.
/// </summary>
public interface IAccountStore
{
    Task<int> CountUsersAsync(CancellationToken ct);

    Task<Account?> GetAccountAsync(string name, CancellationToken ct);

    Task<IReadOnlyList<Account>> ListAccountsAsync(AccountKind? kind, CancellationToken ct);

    /// <summary>False when the name is taken (by any kind of account).</summary>
    Task<bool> CreateAccountAsync(Account account, CancellationToken ct);

    /// <summary>Creates the user, or sets its password and admin flag when it exists. False when the name belongs to a robot or organisation.</summary>
    Task<bool> UpsertUserAsync(string name, string passwordHash, bool isAdmin, DateTimeOffset now, CancellationToken ct);

    Task<bool> SetPasswordAsync(string name, string passwordHash, CancellationToken ct);

    /// <summary>False when no user has that name.</summary>
    Task<bool> SetAdminAsync(string name, bool isAdmin, CancellationToken ct);

    /// <summary>Deletes the account with its memberships, grants and tokens; false when absent.</summary>
    Task<bool> DeleteAccountAsync(string name, CancellationToken ct);

    /// <summary>Sets a namespace's default for new repositories; existing repositories keep the visibility they had.</summary>
    Task SetDefaultVisibilityAsync(string ns, Visibility visibility, CancellationToken ct);

    Task SetMemberAsync(string organization, string user, bool owner, CancellationToken ct);

    Task<bool> RemoveMemberAsync(string organization, string user, CancellationToken ct);

    Task<IReadOnlyList<Member>> ListMembersAsync(string organization, CancellationToken ct);

    Task<bool> CreateTeamAsync(string organization, string team, DateTimeOffset now, CancellationToken ct);

    Task<bool> DeleteTeamAsync(string organization, string team, CancellationToken ct);

    Task<IReadOnlyList<Team>> ListTeamsAsync(string organization, CancellationToken ct);

    /// <summary>False when the team does not exist.</summary>
    Task<bool> AddTeamMemberAsync(string organization, string team, string user, CancellationToken ct);

    Task<bool> RemoveTeamMemberAsync(string organization, string team, string user, CancellationToken ct);

    /// <summary>Sets the grant; <see cref="Role.None"/> removes it.</summary>
    Task SetGrantAsync(Grant grant, DateTimeOffset now, CancellationToken ct);

    Task<IReadOnlyList<Grant>> ListGrantsAsync(string target, bool isNamespace, CancellationToken ct);

    /// <summary>
    /// The highest role <paramref name="user"/> holds on <paramref name="repository"/> through ownership of its
    /// namespace, organisation ownership, and grants to the user or its teams on the repository or its namespace.
    /// </summary>
    Task<Role> GetRoleAsync(string user, string repository, CancellationToken ct);

    /// <summary>The repository's own setting, else its namespace's default, else private; private for a repository that does not exist
    /// (so a missing repository in a public namespace answers like a private one).</summary>
    Task<Visibility> GetVisibilityAsync(string repository, CancellationToken ct);

    Task SetVisibilityAsync(string repository, Visibility visibility, DateTimeOffset now, CancellationToken ct);

    Task SetDescriptionAsync(string repository, string? description, DateTimeOffset now, CancellationToken ct);

    /// <summary>Repositories whose name contains <paramref name="query"/>, in name order after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<RepositoryEntry>> SearchRepositoriesAsync(string query, string? after, int limit, CancellationToken ct);

    /// <summary>
    /// Repositories only site administrators can reach: private (by their own setting or their namespace's default), in a
    /// namespace that is no user or organisation, with no grant on them or their namespace. The count, and the first few names.
    /// </summary>
    Task<(int Count, IReadOnlyList<string> First)> AdminOnlyRepositoriesAsync(int first, CancellationToken ct);

    Task CreateTokenAsync(AccessToken token, CancellationToken ct);

    Task<AccessToken?> GetTokenAsync(string id, CancellationToken ct);

    Task<IReadOnlyList<AccessToken>> ListTokensAsync(string account, CancellationToken ct);

    /// <summary>False when the token does not exist or was already revoked.</summary>
    Task<bool> RevokeTokenAsync(string id, DateTimeOffset now, CancellationToken ct);
}

public sealed record AuditEvent(long Id, DateTimeOffset Time, string Actor, string? Address, string Action, string Target, bool Success, string? Detail);

public sealed record AuditQuery(string? Actor = null, string? Action = null, string? Target = null, DateTimeOffset? Since = null, long? BeforeId = null, int Limit = 100);

/// <summary>The audit log: appended to, never changed; newest first when read.</summary>
public interface IAuditStore
{
    Task AppendAsync(AuditEvent e, CancellationToken ct);

    Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken ct);
}
