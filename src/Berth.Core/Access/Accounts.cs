namespace Berth.Core.Access;

/// <param name="PasswordHash">Users only; robots sign in with tokens, organisations not at all.</param>
/// <param name="DefaultVisibility">For a namespace (user or organisation): the visibility of repositories created in it.</param>
public sealed record Account(string Name, AccountKind Kind, string? PasswordHash, bool IsAdmin, Visibility DefaultVisibility, DateTimeOffset Created);

/// <summary>A role on a namespace (<paramref name="IsNamespace"/>) or a repository, for <c>user:NAME</c> or <c>team:ORG/TEAM</c>.</summary>
public sealed record Grant(string Target, bool IsNamespace, string Subject, Role Role);

public sealed record Member(string User, bool Owner);

public sealed record Team(string Organization, string Name, IReadOnlyList<string> Members);

/// <summary>
/// Accounts (users, robots, organisations share one set of names, which are also namespaces), organisation members
/// and teams, grants, and the roles they add up to. Contract for every backend: absent things are null, false or empty,
/// never an exception; names are validated by the caller.
/// </summary>
public interface IAccounts
{
    Task<int> CountUsersAsync(CancellationToken ct);

    Task<Account?> GetAccountAsync(string name, CancellationToken ct);

    /// <summary>In name order; every kind when <paramref name="kind"/> is null.</summary>
    Task<IReadOnlyList<Account>> ListAccountsAsync(AccountKind? kind, CancellationToken ct);

    /// <summary>False when the name is taken (by any kind of account).</summary>
    Task<bool> CreateAccountAsync(Account account, CancellationToken ct);

    /// <summary>Creates the user, or sets its password and admin flag when it exists. False when the name belongs to a robot or organisation.</summary>
    Task<bool> UpsertUserAsync(string name, string passwordHash, bool isAdmin, DateTimeOffset now, CancellationToken ct);

    /// <summary>False when no user has that name.</summary>
    Task<bool> SetPasswordAsync(string name, string passwordHash, CancellationToken ct);

    /// <summary>False when no user has that name.</summary>
    Task<bool> SetAdminAsync(string name, bool isAdmin, CancellationToken ct);

    /// <summary>Deletes the account with its memberships, teams, grants, and revokes its tokens, in one transaction; false when absent.</summary>
    Task<bool> DeleteAccountAsync(string name, DateTimeOffset now, CancellationToken ct);

    /// <summary>Adds the member or changes its ownership.</summary>
    Task SetMemberAsync(string organization, string user, bool owner, CancellationToken ct);

    /// <summary>Removes the member and its team memberships in the organisation; false when it was no member.</summary>
    Task<bool> RemoveMemberAsync(string organization, string user, CancellationToken ct);

    /// <summary>In name order.</summary>
    Task<IReadOnlyList<Member>> ListMembersAsync(string organization, CancellationToken ct);

    /// <summary>False when the team exists.</summary>
    Task<bool> CreateTeamAsync(string organization, string team, DateTimeOffset now, CancellationToken ct);

    /// <summary>Deletes the team with its members and grants; false when absent.</summary>
    Task<bool> DeleteTeamAsync(string organization, string team, CancellationToken ct);

    /// <summary>In name order, each with its members in name order.</summary>
    Task<IReadOnlyList<Team>> ListTeamsAsync(string organization, CancellationToken ct);

    /// <summary>True when the user is (now) a member; false when the team does not exist.</summary>
    Task<bool> AddTeamMemberAsync(string organization, string team, string user, CancellationToken ct);

    Task<bool> RemoveTeamMemberAsync(string organization, string team, string user, CancellationToken ct);

    /// <summary>Sets the grant; <see cref="Role.None"/> removes it.</summary>
    Task SetGrantAsync(Grant grant, DateTimeOffset now, CancellationToken ct);

    /// <summary>In subject order.</summary>
    Task<IReadOnlyList<Grant>> ListGrantsAsync(string target, bool isNamespace, CancellationToken ct);

    /// <summary>
    /// The highest role <paramref name="user"/> holds on <paramref name="repository"/> through ownership of its
    /// namespace, organisation ownership, and grants to the user or its teams on the repository or its namespace.
    /// </summary>
    Task<Role> GetRoleAsync(string user, string repository, CancellationToken ct);
}
