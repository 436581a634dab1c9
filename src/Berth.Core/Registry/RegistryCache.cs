using System.Collections.Concurrent;

namespace Berth.Core.Registry;

public sealed record CachedManifest(Digest Digest, string MediaType, byte[] Content)
{
    /// <summary>Precomputed: every GET sends the digest twice (Docker-Content-Digest and ETag).</summary>
    public string DigestText { get; } = Digest.ToString();

    public string ETag { get; } = $"\"{Digest}\"";
}

/// <summary>
/// In-process cache of manifests (by tag and by digest) and of blob links, per repository.
/// Every write to a repository's manifests or links drops that repository's whole entry; a reader
/// that raced with the write may fill the dropped entry, which nobody can reach any more, so
/// stale data is never served. Bounded: when full, everything is dropped.
/// This is per process: with several nodes on one database, see docs/architecture.md.
/// </summary>
public sealed class RegistryCache(long maxBytes = 64L << 20)
{
    private readonly ConcurrentDictionary<string, Entry> _repositories = new(StringComparer.Ordinal);
    private long _bytes;

    public sealed class Entry
    {
        internal readonly ConcurrentDictionary<string, CachedManifest> Tags = new(StringComparer.Ordinal);
        internal readonly ConcurrentDictionary<Digest, CachedManifest> Manifests = new();
        internal readonly ConcurrentDictionary<Digest, long> BlobSizes = new();
    }

    public Entry For(string repository) => _repositories.GetOrAdd(repository, static _ => new Entry());

    public CachedManifest? GetTag(string repository, string tag) =>
        _repositories.TryGetValue(repository, out var e) && e.Tags.TryGetValue(tag, out var m) ? m : null;

    public CachedManifest? GetManifest(string repository, Digest digest) =>
        _repositories.TryGetValue(repository, out var e) && e.Manifests.TryGetValue(digest, out var m) ? m : null;

    public long? GetBlobSize(string repository, Digest digest) =>
        _repositories.TryGetValue(repository, out var e) && e.BlobSizes.TryGetValue(digest, out var s) ? s : null;

    public void AddTag(Entry entry, string tag, CachedManifest manifest)
    {
        if (Charge(manifest.Content.Length)) entry.Tags[tag] = manifest;
    }

    public void AddManifest(Entry entry, CachedManifest manifest)
    {
        if (Charge(manifest.Content.Length)) entry.Manifests[manifest.Digest] = manifest;
    }

    public void AddBlobSize(Entry entry, Digest digest, long size)
    {
        if (Charge(64)) entry.BlobSizes[digest] = size;
    }

    public void Invalidate(string repository) => _repositories.TryRemove(repository, out _);

    private bool Charge(long bytes)
    {
        if (Interlocked.Add(ref _bytes, bytes) <= maxBytes) return true;
        _repositories.Clear();
        Interlocked.Exchange(ref _bytes, 0);
        return false;
    }
}
