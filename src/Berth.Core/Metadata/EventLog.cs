namespace Berth.Core.Metadata;

/// <summary>
/// One change recorded in the outbox. <see cref="Repository"/> is set for changes to one repository's content or
/// visibility; <see cref="Subject"/> names an account, organisation ("org" or "org/team"), grant subject or token owner;
/// <see cref="Detail"/> says which change of the kind it was (a verb such as "create", a token id, a role).
/// <see cref="Actor"/>, <see cref="RequestId"/> and <see cref="Address"/> say who made the change through which request; the
/// stores fill them from <see cref="Observability.RequestContext"/> when the change is made inside a request, and leave
/// them null otherwise (jobs, CLI verbs).
/// </summary>
public sealed record RegistryEvent(
    long Id, DateTimeOffset Time, string Kind, string? Repository, string? Subject = null, string? Digest = null, string? Tag = null,
    string? Detail = null, string? Actor = null, string? RequestId = null, string? Address = null);

/// <summary>The kinds of <see cref="RegistryEvent"/> the stores write.</summary>
public static class EventKinds
{
    public const string ManifestPut = "manifest.put";
    public const string ManifestDelete = "manifest.delete";
    public const string TagMove = "tag.move";
    public const string TagDelete = "tag.delete";
    public const string BlobUpload = "blob.upload";
    public const string BlobMount = "blob.mount";
    public const string BlobUnlink = "blob.unlink";
    public const string AccountChange = "account.change";
    public const string GrantChange = "grant.change";
    public const string VisibilityChange = "visibility.change";
    public const string TokenChange = "token.change";

    /// <summary>Pulls of one (repository, digest, tag) since the last flush of a node's pull statistics; Detail is the count.</summary>
    public const string Pull = "manifest.pull";
    /// <summary>A push refused by its namespace's quota; Detail names the quota and the usage.</summary>
    public const string QuotaExceeded = "quota.exceeded";

    /// <summary>Kinds after which what a repository serves (manifests, tags, blob sizes) may have changed.</summary>
    public static bool ChangesContent(string kind) => kind is ManifestPut or ManifestDelete or TagMove or TagDelete or BlobUnlink;
}

/// <summary>
/// The events outbox. Contract for every backend: a store method that changes state writes its event in the same
/// transaction as the change, so an event is read if and only if its change committed; a call that changes nothing
/// (a refused put, a delete of something missing) writes none. Ids are assigned at commit, are never reused and
/// strictly increase in commit order, so a reader that remembers the last id it handled and asks for the ones after
/// it sees every event at least once (again, if it crashes before remembering). Events are kept until pruned.
/// </summary>
public interface IEventLog
{
    /// <summary>Up to <paramref name="limit"/> (clamped to 1..1000) events with an id above <paramref name="afterId"/>, in id order.</summary>
    Task<IReadOnlyList<RegistryEvent>> ReadAfterAsync(long afterId, int limit, CancellationToken ct);

    /// <summary>The id of the newest event ever written (pruned or not), or 0; a reader starting now begins after it.</summary>
    Task<long> LastIdAsync(CancellationToken ct);

    /// <summary>
    /// Returns when an event after <paramref name="afterId"/> may have been written by any process (a backend that can be
    /// told, such as PostgreSQL with LISTEN/NOTIFY), else after <paramref name="maxWait"/>. It may return early with nothing new.
    /// </summary>
    Task WaitAsync(long afterId, TimeSpan maxWait, CancellationToken ct);

    /// <summary>Removes events older than <paramref name="before"/>; returns how many. Ids of removed events are not given out again.</summary>
    Task<int> PruneBeforeAsync(DateTimeOffset before, CancellationToken ct);
}
