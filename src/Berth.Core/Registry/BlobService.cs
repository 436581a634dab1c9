using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Storage;

namespace Berth.Core.Registry;

/// <summary>Reads, mounts and unlinks blobs, always through a repository that links them.</summary>
public sealed class BlobService(IBlobStore store, IBlobLinks metadata, AccessControl access, RegistryCache cache)
{
    /// <summary>The size of the blob if <paramref name="repository"/> may serve it, else null.</summary>
    public async ValueTask<long?> StatAsync(string repository, Digest digest, CancellationToken ct)
    {
        if (cache.GetBlobSize(repository, digest) is { } cached) return cached;
        var ticket = cache.Ticket(repository);
        var size = await metadata.GetLinkedBlobAsync(repository, digest, ct);
        if (size is { } s) cache.AddBlobSize(repository, digest, s, ticket);
        return size;
    }

    /// <summary>
    /// Reads a range of the blob if <paramref name="repository"/> may serve it, else null. The caller took the
    /// range from <see cref="StatAsync"/>'s size (a cache hit when asked again here).
    /// </summary>
    public async ValueTask<BlobRead?> ReadAsync(string repository, Digest digest, long offset, long length, CancellationToken ct) =>
        await StatAsync(repository, digest, ct) is null ? null : await store.ReadAsync(digest, offset, length, ct);

    /// <summary>
    /// Links a blob that <paramref name="caller"/> may read elsewhere into <paramref name="repository"/>: from <paramref name="from"/>
    /// when given, else from the first repository (by name) that links it and that the caller may pull. Returns its size,
    /// or null when it cannot be mounted. The source is decided before the write, which is one short transaction.
    /// </summary>
    public async Task<long?> MountAsync(string repository, Digest digest, string? from, Caller caller, CancellationToken ct)
    {
        var source = from is not null
            ? await access.DecideAsync(caller, from, RepoActions.Pull, ct) == RepoActions.Pull ? from : null
            : await metadata.FindMountSourceAsync(digest, await access.PullFilterAsync(caller, ct), ct);
        return source is null ? null : await metadata.MountBlobAsync(repository, digest, source, ct);
    }

    public async Task<bool> DeleteAsync(string repository, Digest digest, CancellationToken ct)
    {
        var deleted = await metadata.UnlinkBlobAsync(repository, digest, ct);
        cache.Invalidate(repository);
        return deleted;
    }
}
