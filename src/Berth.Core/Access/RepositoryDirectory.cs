using Berth.Core.Metadata;

namespace Berth.Core.Access;

/// <summary>
/// Repositories as a caller may see them: the catalog, search and one repository's settings. What the caller may pull
/// is a filter inside the query (<see cref="AccessControl.PullFilterAsync"/>), never a walk over pages of names.
/// </summary>
public sealed class RepositoryDirectory(IRepositories repositories, AccessControl access)
{
    /// <summary>The catalog page: every repository with authentication off and for a site administrator, else those the caller may pull.</summary>
    public async Task<IReadOnlyList<string>> CatalogAsync(Caller caller, string? last, int limit, CancellationToken ct)
    {
        var everything = !await access.IsEnabledAsync(ct) || caller.IsAdmin;
        return await repositories.ListAsync(everything ? RepositoryFilter.Everything : await access.PullFilterAsync(caller, ct), last, limit, ct);
    }

    /// <summary>Repositories matching <paramref name="query"/> that the caller may pull.</summary>
    public async Task<IReadOnlyList<RepositoryEntry>> SearchAsync(Caller caller, string query, string? after, int limit, CancellationToken ct)
    {
        var found = await repositories.SearchAsync(await access.PullFilterAsync(caller, ct), query, after, limit, ct);
        return await access.IsEnabledAsync(ct) ? found : found.Select(r => r with { Visibility = Visibility.Public }).ToList();
    }

    /// <summary>
    /// The repository's settings when the caller may pull it (one that does not exist yet is private, with no description),
    /// else null: to anyone else it does not exist.
    /// </summary>
    public async Task<RepositoryEntry?> GetAsync(Caller caller, string name, CancellationToken ct)
    {
        if (await access.DecideAsync(caller, name, RepoActions.Pull, ct) != RepoActions.Pull) return null;
        var entry = await repositories.GetAsync(name, ct) ?? new RepositoryEntry(name, Visibility.Private, null);
        // With no user, authentication is off and anyone may pull anything: every repository is public.
        return await access.IsEnabledAsync(ct) ? entry : entry with { Visibility = Visibility.Public };
    }
}
