using Berth.Core.Metadata;
using Berth.Core.Storage;

namespace Berth.Core.Registry;

/// <summary>Reads, mounts and unlinks blobs, always through a repository that links them.</summary>
public sealed class BlobService(IBlobStore store, IMetadataStore metadata, RegistryCache cache)
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

    /// <summary>Links a blob readable elsewhere into <paramref name="repository"/>; returns its size, or null when it cannot be mounted.</summary>
    public Task<long?> MountAsync(string repository, Digest digest, string? from, Func<string, ValueTask<bool>> mayRead, CancellationToken ct) =>
        metadata.MountBlobAsync(repository, digest, from, mayRead, ct);

    public async Task<bool> DeleteAsync(string repository, Digest digest, CancellationToken ct)
    {
        var deleted = await metadata.UnlinkBlobAsync(repository, digest, ct);
        cache.Invalidate(repository);
        return deleted;
    }
}
