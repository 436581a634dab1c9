namespace Berth.Core.Registry;

public sealed record CachedManifest(Digest Digest, string MediaType, byte[] Content)
{
    /// <summary>Precomputed: every GET sends the digest twice (Docker-Content-Digest and ETag).</summary>
    public string DigestText { get; } = Digest.ToString();

    public string ETag { get; } = $"\"{Digest}\"";

    /// <summary>The bytes this object keeps alive: itself, the content, the media type and the two digest strings.</summary>
    public long Cost => 64 + CacheCost.Of(Content) + CacheCost.Of(MediaType) + CacheCost.Of(DigestText) + CacheCost.Of(ETag) + CacheCost.Of(Digest.Hex) + CacheCost.Of(Digest.Algorithm);
}

/// <summary>
/// In-process cache of manifests (by tag and by digest) and of blob sizes, per repository, bounded by what its
/// entries really hold (<see cref="BoundedCache{TKey, TValue}"/>, CLOCK eviction). Only what was found is cached: a
/// miss costs a lookup and leaves nothing behind, so requests for names that do not exist cannot fill memory. Once
/// full, a key gets in on its second fill within a while (the cache's admission), so reads spread over far more
/// repositories than fit do not turn the cache over on every request.
/// Every write to a repository's manifests or links drops that repository's entries (and their bytes); a reader
/// takes a <see cref="Ticket"/> before it reads the database, and a fill with a ticket older than the last drop is
/// refused, so stale data is never served. Per process: with several nodes on one database, see docs/architecture.md.
/// </summary>
public sealed class RegistryCache(long maxBytes = RegistryCache.DefaultMaxBytes)
{
    public const long DefaultMaxBytes = 64L << 20;

    private enum Kind : byte { Tag, Manifest, BlobSize }

    private readonly record struct Key(string Repository, Kind Kind, string Item, string? Algorithm)
    {
        public bool Equals(Key other) => Kind == other.Kind && string.Equals(Item, other.Item, StringComparison.Ordinal)
            && string.Equals(Repository, other.Repository, StringComparison.Ordinal) && string.Equals(Algorithm, other.Algorithm, StringComparison.Ordinal);

        public override int GetHashCode() => HashCode.Combine(Repository.GetHashCode(StringComparison.Ordinal), Item.GetHashCode(StringComparison.Ordinal), Kind);
    }

    private readonly record struct Value(CachedManifest? Manifest, long Size);

    private readonly BoundedCache<Key, Value> _entries = new(maxBytes, grouped: true, admission: true);

    public long Bytes => _entries.Bytes;

    public long MaxBytes => _entries.MaxBytes;

    public int Count => _entries.Count;

    /// <summary>Taken before reading the database for <paramref name="repository"/>, passed to the Add methods.</summary>
    public long Ticket(string repository) => _entries.Ticket(repository);

    public CachedManifest? GetTag(string repository, string tag) =>
        Counted(_entries.TryGet(new Key(repository, Kind.Tag, tag, null), 0, out var v) ? v.Manifest : null);

    public CachedManifest? GetManifest(string repository, Digest digest) =>
        Counted(_entries.TryGet(new Key(repository, Kind.Manifest, digest.Hex, digest.Algorithm), 0, out var v) ? v.Manifest : null);

    private long _hits;
    private long _misses;

    /// <summary>Manifest lookups (by tag or digest) answered from the cache and not, since start: for the hit ratio in metrics.</summary>
    public (long Hits, long Misses) Lookups => (Interlocked.Read(ref _hits), Interlocked.Read(ref _misses));

    private CachedManifest? Counted(CachedManifest? found)
    {
        Interlocked.Increment(ref found is null ? ref _misses : ref _hits);
        return found;
    }

    public long? GetBlobSize(string repository, Digest digest) =>
        _entries.TryGet(new Key(repository, Kind.BlobSize, digest.Hex, digest.Algorithm), 0, out var v) ? v.Size : null;

    public bool AddTag(string repository, string tag, CachedManifest manifest, long ticket) =>
        _entries.Set(new Key(repository, Kind.Tag, tag, null), new Value(manifest, 0),
            CacheCost.Of(repository) + CacheCost.Of(tag) + manifest.Cost, group: repository, ticket: ticket);

    public bool AddManifest(string repository, CachedManifest manifest, long ticket) =>
        _entries.Set(new Key(repository, Kind.Manifest, manifest.Digest.Hex, manifest.Digest.Algorithm), new Value(manifest, 0),
            CacheCost.Of(repository) + manifest.Cost, group: repository, ticket: ticket);

    public bool AddBlobSize(string repository, Digest digest, long size, long ticket) =>
        _entries.Set(new Key(repository, Kind.BlobSize, digest.Hex, digest.Algorithm), new Value(null, size),
            CacheCost.Of(repository) + CacheCost.Of(digest.Hex), group: repository, ticket: ticket);

    /// <summary>Drops everything cached for <paramref name="repository"/> and gives back its bytes.</summary>
    public void Invalidate(string repository) => _entries.RemoveGroup(repository);
}
