using Berth.Core.Access;

namespace Berth.Core.Metadata;

/// <param name="Visibility">The repository's own setting, else its namespace's default, else private.</param>
/// <param name="Stars">How many users starred it.</param>
/// <param name="Official">In "library/", or marked official (its own mark or its namespace's) by a site administrator.</param>
/// <param name="Pulls">Pulls counted so far (0 until the pull counter fills it).</param>
public sealed record RepositoryEntry(string Name, Visibility Visibility, string? Description, int Stars = 0, bool Official = false, long Pulls = 0);

/// <summary>
/// Which repositories a caller may pull, as data a query applies (<see cref="AccessControl.PullFilterAsync"/> builds it;
/// it answers what <see cref="AccessControl.DecideAsync"/> answers for pull). A repository passes when <see cref="All"/>;
/// else, with <see cref="Only"/>, when it is one of those names; else when it is public, or when the caller holds it
/// (<see cref="Admin"/>, a role of <see cref="User"/>: its own namespace, ownership of the namespace's organisation, a grant
/// to it or one of its teams on the repository or namespace; or the robot namespace <see cref="Namespace"/>) and, with
/// <see cref="Scopes"/>, one of those token scope patterns matches it.
/// </summary>
public sealed record RepositoryFilter(bool All = false, IReadOnlyList<string>? Only = null, string? User = null, bool Admin = false,
    string? Namespace = null, IReadOnlyList<string>? Scopes = null)
{
    public static readonly RepositoryFilter Everything = new(All: true);

    /// <summary>Public repositories only.</summary>
    public static readonly RepositoryFilter Anonymous = new();
}

/// <summary>
/// Repositories: the catalog, visibility (their own and their namespace's default), descriptions and search. Every
/// list applies a <see cref="RepositoryFilter"/> inside the query. Contract for every backend: absent things are null
/// or empty, never an exception; names are validated by the caller; a repository exists once something was pushed to it.
/// </summary>
public interface IRepositories
{
    /// <summary>Names that <paramref name="readable"/> admits, in lexical order after <paramref name="last"/>, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<string>> ListAsync(RepositoryFilter readable, string? last, int limit, CancellationToken ct);

    /// <summary>
    /// Repositories that <paramref name="readable"/> admits and the query matches (<see cref="SearchQuery"/>: every word of it
    /// begins a word of the name, description or image labels), ranked: the repository named exactly as the query first,
    /// then official ones, then by stars, then by pulls, then by name. An indexed query, never a walk over all names.
    /// </summary>
    Task<SearchPage> SearchAsync(RepositoryFilter readable, SearchQuery query, CancellationToken ct);

    /// <summary>Stars (or unstars) an existing repository for <paramref name="user"/>; true when that changed anything.</summary>
    Task<bool> StarAsync(string repository, string user, bool starred, DateTimeOffset now, CancellationToken ct);

    /// <summary>The repositories <paramref name="user"/> starred that <paramref name="readable"/> admits, in name order after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<RepositoryEntry>> StarredAsync(RepositoryFilter readable, string user, string? after, int limit, CancellationToken ct);

    /// <summary>Marks a namespace or a repository official (or not); true when that changed anything.</summary>
    Task<bool> SetOfficialAsync(string target, bool isNamespace, bool official, DateTimeOffset now, CancellationToken ct);

    /// <summary>Every official mark, namespaces first, by name ("library/" is official without one).</summary>
    Task<IReadOnlyList<OfficialMark>> ListOfficialAsync(CancellationToken ct);

    /// <summary>Sets the words of a repository's image labels that search matches (null: none).</summary>
    Task SetLabelsAsync(string repository, string? labels, DateTimeOffset now, CancellationToken ct);

    /// <summary>The id of the last event whose labels were indexed (0 at first), and setting it.</summary>
    Task<long> GetLabelsCursorAsync(CancellationToken ct);

    Task SetLabelsCursorAsync(long lastEvent, CancellationToken ct);

    /// <summary>The repository, or null when it does not exist.</summary>
    Task<RepositoryEntry?> GetAsync(string name, CancellationToken ct);

    /// <summary>As <see cref="RepositoryEntry.Visibility"/>; private for a repository that does not exist (so a missing
    /// repository in a public namespace answers like a private one).</summary>
    Task<Visibility> GetVisibilityAsync(string repository, CancellationToken ct);

    Task SetVisibilityAsync(string repository, Visibility visibility, DateTimeOffset now, CancellationToken ct);

    Task SetDescriptionAsync(string repository, string? description, DateTimeOffset now, CancellationToken ct);

    /// <summary>Sets a namespace's default for new repositories; existing repositories keep the visibility they had.</summary>
    Task SetNamespaceVisibilityAsync(string ns, Visibility visibility, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Repositories only site administrators can reach: private (by their own setting or their namespace's default), in a
    /// namespace that is no user or organisation, with no grant on them or their namespace. The count, and the first few names.
    /// </summary>
    Task<(int Count, IReadOnlyList<string> First)> AdminOnlyAsync(int first, CancellationToken ct);
}
