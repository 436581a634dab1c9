namespace Berth.Core.Metadata;

/// <summary>A stored policy document: <see cref="Target"/> is a repository name, or a namespace followed by '/'.</summary>
public sealed record PolicyDocument(string Target, string Kind, string Body, DateTimeOffset Updated);

/// <summary>
/// What a namespace holds: each distinct blob (layers, configs, manifests) linked in any of its repositories, once; whether
/// it holds the digest asked about, and that digest's size when the registry has it anywhere.
/// </summary>
public sealed record NamespaceUsage(long Bytes, bool Holds, long? Size = null);

/// <summary>
/// Policies per namespace and per repository (immutable tags, retention, quota), kept as JSON documents so the
/// transactions that move or delete tags can read the immutability rules (<c>IManifestIndex</c> refuses there), and
/// the questions quotas ask. Contract for every backend: absent things are null, never an exception; setting a null
/// body deletes; targets are "ns/" for a namespace or a validated repository name.
/// </summary>
public interface IPolicies
{
    Task<string?> GetAsync(string target, string kind, CancellationToken ct);

    /// <summary>Stores (or with a null <paramref name="body"/> removes) one document; false when removing what was absent.</summary>
    Task<bool> SetAsync(string target, string kind, string? body, DateTimeOffset now, CancellationToken ct);

    /// <summary>Every document of one kind, by target.</summary>
    Task<IReadOnlyList<PolicyDocument>> ListAsync(string kind, CancellationToken ct);

    /// <summary>Repositories whose name starts with <paramref name="prefix"/>, in name order (an index range scan).</summary>
    Task<IReadOnlyList<string>> RepositoriesAsync(string prefix, CancellationToken ct);

    /// <summary>
    /// The bytes of the distinct blobs and manifests linked in repositories under "<paramref name="ns"/>/", each counted once,
    /// computed from the links by an index range scan (so unlinks, deletes and garbage collection give space back without
    /// any counter to maintain); <see cref="NamespaceUsage.Holds"/> says whether <paramref name="digest"/> is among them and
    /// <see cref="NamespaceUsage.Size"/> gives its recorded size when any repository has it.
    /// </summary>
    Task<NamespaceUsage> UsageAsync(string ns, Digest? digest, CancellationToken ct);

    /// <summary>
    /// Retention's delete: removes the tag only while it still points at <paramref name="digest"/>, in one transaction with
    /// the immutable-tags check and the <see cref="EventKinds.TagDelete"/> event; false when it is gone or has moved.
    /// </summary>
    Task<bool> DeleteTagIfAsync(string repository, string tag, Digest digest, CancellationToken ct);

    /// <summary>Writes one event to the outbox on its own (a refused push changes nothing else).</summary>
    Task RecordEventAsync(RegistryEvent e, CancellationToken ct);
}

/// <summary>Pulls counted by one node since its last flush.</summary>
public sealed record PullCount(string Repository, Digest Digest, string? Tag, long Count, DateTimeOffset Last);

/// <summary>A tag with when it was pushed (last moved) and pulled.</summary>
public sealed record TagDetail(string Name, Digest Digest, DateTimeOffset Updated, DateTimeOffset? LastPulled, long PullCount);

/// <summary>
/// Pull statistics per tag and per manifest. Contract: <see cref="RecordPullsAsync"/> is one transaction that adds the
/// counts, keeps the latest time, and writes one <see cref="EventKinds.Pull"/> event per entry; entries whose tag or
/// manifest is gone are dropped (their event still written, the pull happened).
/// </summary>
public interface ITagStatistics
{
    Task RecordPullsAsync(IReadOnlyCollection<PullCount> pulls, CancellationToken ct);

    /// <summary>Tags in name order after <paramref name="last"/>; null when the repository does not exist.</summary>
    Task<IReadOnlyList<TagDetail>?> ListTagDetailsAsync(string repository, string? last, int limit, CancellationToken ct);
}

public sealed record RecordedBlob(Digest Digest, long Size);

/// <summary>A manifest reference whose target the repository neither links nor holds as a manifest.</summary>
public sealed record DanglingReference(string Repository, Digest Manifest, string Target);

public sealed record QuarantineEntry(Digest Digest, string Reason, DateTimeOffset Time);

/// <summary>What a scrub reads and records. Contract: quarantining is idempotent (the first reason is kept).</summary>
public interface IIntegrity
{
    /// <summary>Committed blobs in digest order after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<RecordedBlob>> ListBlobsAsync(Digest? after, int limit, CancellationToken ct);

    Task<IReadOnlyList<DanglingReference>> ListDanglingReferencesAsync(int limit, CancellationToken ct);

    Task QuarantineAsync(Digest digest, string reason, DateTimeOffset now, CancellationToken ct);

    /// <summary>False when the digest was not quarantined.</summary>
    Task<bool> ReleaseAsync(Digest digest, CancellationToken ct);

    Task<IReadOnlyList<QuarantineEntry>> ListQuarantinedAsync(CancellationToken ct);
}
