namespace Berth.Core.Metadata;

/// <param name="Committing">Set once the content was verified and is being moved into the store: a completion
/// interrupted by a crash is finished from there, without the upload's data (which may already be moved).</param>
public sealed record UploadSession(string Id, string Repository, long Size, DateTimeOffset Started, DateTimeOffset Updated, Digest? Committing = null);

public sealed record ManifestInfo(Digest Digest, string MediaType, long Size);

/// <summary>
/// The registry's metadata: repositories, which blobs each repository may serve (its links),
/// manifests with what they reference, tags and upload sessions. Lists are indexed queries.
/// Contract for every backend:
/// <list type="bullet">
/// <item>Lookups of something absent return null or false, never throw.</item>
/// <item><see cref="PutManifestAsync"/> is one transaction: the references are checked and recorded
/// atomically, so a blob cannot be unlinked between the check and the insert.</item>
/// <item>Names are repository names already validated by <see cref="Names"/>.</item>
/// </list>
/// </summary>
public interface IMetadataStore
{
    /// <summary>Creates or upgrades the schema.</summary>
    Task MigrateAsync(CancellationToken ct);

    Task<bool> RepositoryExistsAsync(string repository, CancellationToken ct);

    /// <summary>Repository names in lexical order after <paramref name="last"/>, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<string>> ListRepositoriesAsync(string? last, int limit, CancellationToken ct);

    /// <summary>The blob's size when <paramref name="repository"/> links it, else null.</summary>
    Task<long?> GetLinkedBlobAsync(string repository, Digest digest, CancellationToken ct);

    /// <summary>Records that the upload's verified content, <paramref name="size"/> bytes, is being committed as <paramref name="digest"/>.</summary>
    Task MarkUploadCommittingAsync(string id, long size, Digest digest, CancellationToken ct);

    /// <summary>
    /// In one transaction: records the committed blob, links it to the session's repository (creating the
    /// repository) and deletes the session.
    /// </summary>
    Task CompleteUploadAsync(UploadSession session, Digest digest, CancellationToken ct);

    /// <summary>
    /// Links a blob that another repository already links: <paramref name="from"/> when given, else any
    /// repository that <paramref name="mayRead"/> allows. Returns the size, or null when nothing could be mounted.
    /// </summary>
    Task<long?> MountBlobAsync(string repository, Digest digest, string? from, Func<string, ValueTask<bool>> mayRead, CancellationToken ct);

    /// <summary>Removes the repository's link to a blob; false when it had none.</summary>
    Task<bool> UnlinkBlobAsync(string repository, Digest digest, CancellationToken ct);

    Task CreateUploadAsync(UploadSession session, CancellationToken ct);

    Task<UploadSession?> GetUploadAsync(string id, CancellationToken ct);

    Task UpdateUploadAsync(string id, long size, DateTimeOffset updated, CancellationToken ct);

    Task DeleteUploadAsync(string id, CancellationToken ct);

    Task<IReadOnlyList<UploadSession>> ListUploadsUpdatedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct);

    /// <summary>
    /// Stores the manifest, its references and (when given) the tag in one transaction. Throws
    /// <see cref="RegistryException"/> with <see cref="ErrorCode.ManifestBlobUnknown"/> when a required blob
    /// or child manifest is not in the repository.
    /// </summary>
    Task PutManifestAsync(string repository, Manifest manifest, string? tag, DateTimeOffset now, CancellationToken ct);

    Task<ManifestInfo?> GetManifestAsync(string repository, Digest digest, CancellationToken ct);

    Task<ManifestInfo?> ResolveTagAsync(string repository, string tag, CancellationToken ct);

    /// <summary>Deletes the manifest and every tag pointing at it; false when absent.</summary>
    Task<bool> DeleteManifestAsync(string repository, Digest digest, CancellationToken ct);

    /// <summary>Deletes only the tag; false when absent.</summary>
    Task<bool> DeleteTagAsync(string repository, string tag, CancellationToken ct);

    /// <summary>Tags in lexical order after <paramref name="last"/>, at most <paramref name="limit"/>; null when the repository does not exist.</summary>
    Task<IReadOnlyList<string>?> ListTagsAsync(string repository, string? last, int limit, CancellationToken ct);

    /// <summary>Manifests in the repository whose subject is <paramref name="subject"/>, optionally of one artifact type.</summary>
    Task<IReadOnlyList<Descriptor>> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct);
}
