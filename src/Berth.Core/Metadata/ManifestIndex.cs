namespace Berth.Core.Metadata;

public sealed record ManifestInfo(Digest Digest, string MediaType, long Size);

/// <summary>A tag as the pages list it: what it points at, and when it was last pushed (set or moved).</summary>
public sealed record TagInfo(string Name, Digest Digest, DateTimeOffset Pushed);

/// <summary>
/// Manifests per repository with what each references, tags and referrers, and what garbage collection asks of
/// them. Contract for every backend:
/// <list type="bullet">
/// <item>Lookups of something absent return null or false, never throw.</item>
/// <item><see cref="PutManifestAsync"/> is one transaction: the references are checked and recorded
/// atomically, so a blob cannot be unlinked between the check and the insert.</item>
/// <item>Names are repository names already validated by <see cref="Names"/>.</item>
/// </list>
/// </summary>
public interface IManifestIndex
{
    /// <summary>
    /// Stores the manifest, its references and (when given) the tag in one transaction, creating the repository. Throws
    /// <see cref="RegistryException"/> with <see cref="ErrorCode.ManifestBlobUnknown"/> when a required blob
    /// or child manifest is not in the repository.
    /// </summary>
    Task PutManifestAsync(string repository, Manifest manifest, string? tag, DateTimeOffset now, CancellationToken ct);

    Task<ManifestInfo?> GetManifestAsync(string repository, Digest digest, CancellationToken ct);

    Task<ManifestInfo?> ResolveTagAsync(string repository, string tag, CancellationToken ct);

    /// <summary>Deletes the manifest, its references and every tag pointing at it; false when absent.</summary>
    Task<bool> DeleteManifestAsync(string repository, Digest digest, CancellationToken ct);

    /// <summary>Deletes only the tag; false when absent.</summary>
    Task<bool> DeleteTagAsync(string repository, string tag, CancellationToken ct);

    /// <summary>Tags in lexical order after <paramref name="last"/>, at most <paramref name="limit"/>; null when the repository does not exist.</summary>
    Task<IReadOnlyList<string>?> ListTagsAsync(string repository, string? last, int limit, CancellationToken ct);

    /// <summary>Manifests in the repository whose subject is <paramref name="subject"/>, optionally of one artifact type, oldest first.</summary>
    Task<IReadOnlyList<Descriptor>> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct);

    /// <summary>
    /// For garbage collection: committed blobs recorded before <paramref name="before"/> that nothing holds (no repository
    /// links them, no manifest references them, no repository has a manifest with that digest), in digest order, at most
    /// <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<Digest>> ListUnreferencedBlobsAsync(DateTimeOffset before, int limit, CancellationToken ct);

    /// <summary>As <see cref="ListTagsAsync"/>, with each tag's digest and the time it was last pushed; null when the repository does not exist.</summary>
    Task<IReadOnlyList<TagInfo>?> ListTagInfoAsync(string repository, string? last, int limit, CancellationToken ct);
}
