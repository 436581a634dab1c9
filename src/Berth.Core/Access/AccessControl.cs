using Berth.Core.Metadata;

namespace Berth.Core.Access;

/// <summary>
/// The one decision function: which of the wanted actions on a repository a caller may take. Every
/// endpoint, the token endpoint and the management API ask it. Inputs: whether authentication is on at all,
/// the repository's visibility, the caller's role (namespace ownership, organisation ownership, grants to the
/// user and its teams) and the caller's token scopes. Lookups are cached for a few seconds; a change made
/// through this process is seen at once; one made by another process about a second later, when the server's event
/// feed reads it from the outbox, and within <see cref="CacheTtl"/> at worst.
/// </summary>
public sealed class AccessControl(IAccounts accounts, IRepositories repositories, TimeProvider time)
{
    public static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(5);
    /// <summary>
    /// Each lookup cache's bound in bytes (names included). A missing repository is cached like a private one (they must
    /// cost the same), so a storm of made-up names fills this and evicts its own entries, nothing more.
    /// </summary>
    public const long CacheBytes = 8L << 20;

    private readonly BoundedCache<string, Visibility> _visibility = new(CacheBytes, StringComparer.Ordinal);
    private readonly BoundedCache<(string User, string Repository), Role> _roles = new(CacheBytes);
    private volatile bool _enabled;
    private long _enabledCheckedUntil;

    /// <summary>
    /// With no user in the database the registry is open, as registry:2 is: anyone may push and pull. The first
    /// user turns authentication on for good (it is not turned off again in a running process).
    /// </summary>
    public async ValueTask<bool> IsEnabledAsync(CancellationToken ct)
    {
        if (_enabled) return true;
        var now = time.GetTimestamp();
        if (now < Interlocked.Read(ref _enabledCheckedUntil)) return false;
        _enabled = await accounts.CountUsersAsync(ct) > 0;
        Interlocked.Exchange(ref _enabledCheckedUntil, now + Ticks(CacheTtl));
        return _enabled;
    }

    public async ValueTask<RepoActions> DecideAsync(Caller caller, string repository, RepoActions wanted, CancellationToken ct)
    {
        if (!await IsEnabledAsync(ct)) return wanted;
        // A token from the token endpoint carries what was decided when it was issued, minutes ago at most.
        if (caller.Granted is { } granted) return granted.GetValueOrDefault(repository) & wanted;

        var own = caller.Kind switch
        {
            AccountKind.User when caller.IsAdmin => RepoActions.All,
            AccountKind.User => (await RoleAsync(caller.Name!, repository, ct)).Actions(),
            AccountKind.Robot => AccessText.Namespace(repository) == RobotNamespace(caller.Name!) ? RepoActions.All : RepoActions.None,
            _ => RepoActions.None,
        };
        if (caller.Scopes is { } scopes) own &= TokenScope.Allowed(scopes, repository);
        // Always looked up, even when the caller's own role already answers, so a private repository costs what a missing one does.
        var visibility = await VisibilityAsync(repository, ct);
        var everyone = visibility == Visibility.Public ? RepoActions.Pull : RepoActions.None;
        return (own | everyone) & wanted;
    }

    /// <summary>
    /// The repositories <paramref name="caller"/> may pull, as a filter a query applies: the same decision as
    /// <see cref="DecideAsync"/> for pull, made by the database for many repositories at once (uncached).
    /// </summary>
    public async ValueTask<RepositoryFilter> PullFilterAsync(Caller caller, CancellationToken ct)
    {
        if (!await IsEnabledAsync(ct)) return RepositoryFilter.Everything;
        if (caller.Granted is { } granted) return new RepositoryFilter(Only: granted.Where(g => g.Value.HasFlag(RepoActions.Pull)).Select(g => g.Key).ToList());
        return new RepositoryFilter(
            User: caller.Kind == AccountKind.User && !caller.IsAdmin ? caller.Name : null,
            Admin: caller.Kind == AccountKind.User && caller.IsAdmin,
            Namespace: caller.Kind == AccountKind.Robot ? RobotNamespace(caller.Name!) : null,
            Scopes: caller.Scopes?.Where(s => s.Actions.HasFlag(RepoActions.Pull)).Select(s => s.Pattern).ToList());
    }

    /// <summary>The caller's role on a namespace itself (to manage its settings, robots and grants).</summary>
    public async ValueTask<Role> NamespaceRoleAsync(Caller caller, string ns, CancellationToken ct)
    {
        if (!caller.HasFullRights) return Role.None;
        if (caller.IsAdmin) return Role.Admin;
        return await accounts.GetRoleAsync(caller.Name!, ns + "/", ct);
    }

    /// <summary>A robot account is named NAMESPACE+NAME and acts only inside its namespace.</summary>
    public static string RobotNamespace(string robot) => robot[..Math.Max(0, robot.IndexOf('+'))];

    /// <summary>Rises with every <see cref="Invalidate"/>: other caches of rights compare it to drop what they hold.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    private long _generation;

    /// <summary>Forgets cached lookups after a change to accounts, grants or visibility.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _visibility.Clear();
        _roles.Clear();
        Interlocked.Exchange(ref _enabledCheckedUntil, 0);
    }

    /// <summary>A repository was created or changed here: its cached visibility (private while it did not exist) is stale.</summary>
    public void Forget(string repository) => _visibility.Remove(repository);

    private async ValueTask<Visibility> VisibilityAsync(string repository, CancellationToken ct)
    {
        var now = time.GetTimestamp();
        if (_visibility.TryGet(repository, now, out var hit)) return hit;
        var value = await repositories.GetVisibilityAsync(repository, ct);
        _visibility.Set(repository, value, CacheCost.Of(repository), now + Ticks(CacheTtl));
        return value;
    }

    private async ValueTask<Role> RoleAsync(string user, string repository, CancellationToken ct)
    {
        var now = time.GetTimestamp();
        if (_roles.TryGet((user, repository), now, out var hit)) return hit;
        var value = await accounts.GetRoleAsync(user, repository, ct);
        _roles.Set((user, repository), value, CacheCost.Of(user) + CacheCost.Of(repository), now + Ticks(CacheTtl));
        return value;
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);
}
