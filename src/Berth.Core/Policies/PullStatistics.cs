using System.Collections.Concurrent;
using Berth.Core.Metadata;

namespace Berth.Core.Policies;

/// <summary>
/// Pull counts of one node, kept in memory and written in batches (<see cref="FlushAsync"/>, every few seconds and at
/// shutdown) as one metadata transaction, so a manifest GET never writes. <see cref="Record"/> is on the hottest path:
/// a lookup in a concurrent dictionary keyed by (repository, tag, digest) and two interlocked writes; it allocates only
/// the first time a key is seen since the last flush. Bounded by <see cref="MaxEntries"/> keys: pulls of a key that
/// does not fit are counted in <see cref="Dropped"/> and not recorded. A pull racing the removal of a key that was idle
/// for a whole flush may be lost; counts are statistics, not billing.
/// </summary>
public sealed class PullStatistics(ITagStatistics store, TimeProvider time, int maxEntries = PullStatistics.DefaultMaxEntries)
{
    /// <summary>About 200 bytes each (key, counter, dictionary node): 50,000 keys are ~10 MiB.</summary>
    public const int DefaultMaxEntries = 50_000;

    private readonly record struct Key(string Repository, string? Tag, Digest Digest);

    private sealed class Counter
    {
        public long Count;
        public long LastTicks;
    }

    private readonly ConcurrentDictionary<Key, Counter> _counts = new();
    private int _size;
    private long _dropped;

    public int MaxEntries => maxEntries;

    /// <summary>Pulls not recorded because the table was full, since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Keys waiting for the next flush.</summary>
    public int Pending => Volatile.Read(ref _size);

    /// <summary>Counts one pull of <paramref name="digest"/> (by <paramref name="tag"/> when pulled by tag).</summary>
    public void Record(string repository, string? tag, Digest digest)
    {
        var key = new Key(repository, tag, digest);
        if (!_counts.TryGetValue(key, out var counter))
        {
            if (Interlocked.Increment(ref _size) > maxEntries)
            {
                Interlocked.Decrement(ref _size);
                Interlocked.Increment(ref _dropped);
                return;
            }
            var added = new Counter();
            counter = _counts.GetOrAdd(key, added);
            if (!ReferenceEquals(counter, added)) Interlocked.Decrement(ref _size);
        }
        Interlocked.Increment(ref counter.Count);
        Volatile.Write(ref counter.LastTicks, time.GetUtcNow().UtcTicks);
    }

    /// <summary>
    /// Writes what was counted since the last flush in one transaction (with one <see cref="EventKinds.Pull"/> event per
    /// key) and returns how many keys it wrote. Keys idle since the last flush are dropped from memory. On failure the
    /// counts are put back for the next flush.
    /// </summary>
    public async Task<int> FlushAsync(CancellationToken ct)
    {
        var batch = new List<PullCount>();
        foreach (var (key, counter) in _counts)
        {
            var n = Interlocked.Exchange(ref counter.Count, 0);
            if (n == 0)
            {
                if (_counts.TryRemove(KeyValuePair.Create(key, counter))) Interlocked.Decrement(ref _size);
                continue;
            }
            batch.Add(new PullCount(key.Repository, key.Digest, key.Tag, n, new DateTimeOffset(Volatile.Read(ref counter.LastTicks), TimeSpan.Zero)));
        }
        if (batch.Count == 0) return 0;
        try
        {
            await store.RecordPullsAsync(batch, ct);
        }
        catch
        {
            foreach (var p in batch)
            {
                var counter = _counts.GetOrAdd(new Key(p.Repository, p.Tag, p.Digest), _ => { Interlocked.Increment(ref _size); return new Counter(); });
                Interlocked.Add(ref counter.Count, p.Count);
                if (Volatile.Read(ref counter.LastTicks) < p.Last.UtcTicks) Volatile.Write(ref counter.LastTicks, p.Last.UtcTicks);
            }
            throw;
        }
        return batch.Count;
    }
}
