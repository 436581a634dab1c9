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

    /// <summary>Repositories matching <paramref name="query"/> that the caller may pull, ranked (<see cref="IRepositories.SearchAsync"/>),
    /// continuing after the repository <paramref name="after"/> names.</summary>
    public async Task<IReadOnlyList<RepositoryEntry>> SearchAsync(Caller caller, string query, string? after, int limit, CancellationToken ct) =>
        (await SearchPageAsync(caller, new SearchQuery(query, limit, 0, after), ct)).Results;

    /// <summary>A page of <see cref="SearchAsync"/> by offset, with how many results there are (never counting what the caller may not pull).</summary>
    public async Task<SearchPage> SearchPageAsync(Caller caller, SearchQuery query, CancellationToken ct)
    {
        var found = await repositories.SearchAsync(await access.PullFilterAsync(caller, ct), query, ct);
        return await access.IsEnabledAsync(ct) ? found : found with { Results = found.Results.Select(r => r with { Visibility = Visibility.Public }).ToList() };
    }

    /// <summary>Stars or unstars a repository the caller (a user, with a password or an unrestricted token) may pull; to anyone
    /// else it does not exist.</summary>
    public async Task StarAsync(Caller caller, string repository, bool starred, DateTimeOffset now, CancellationToken ct)
    {
        AccountRules.Require(caller.HasFullRights && caller.Name is not null, "only a signed-in user may star repositories");
        if (await GetAsync(caller, repository, ct) is null || await repositories.GetAsync(repository, ct) is null)
        {
            throw new RegistryException(ErrorCode.NameUnknown, "repository name not known to registry");
        }
        await repositories.StarAsync(repository, caller.Name!, starred, now, ct);
    }

    /// <summary>The repositories <paramref name="user"/> starred, of those the caller may pull, in name order after <paramref name="after"/>.</summary>
    public async Task<IReadOnlyList<RepositoryEntry>> StarredAsync(Caller caller, string user, string? after, int limit, CancellationToken ct) =>
        await repositories.StarredAsync(await access.PullFilterAsync(caller, ct), user, after, limit, ct);

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
