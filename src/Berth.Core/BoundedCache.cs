using System.Collections.Concurrent;

namespace Berth.Core;

/// <summary>
/// A concurrent dictionary bounded by the bytes its entries really hold: the caller's estimate of what a key and
/// value keep alive plus <see cref="EntryOverhead"/> for the cache's own objects. When a new entry does not fit, the
/// CLOCK hand (second chance) evicts entries one at a time, skipping once those read since it last passed, so a
/// storm of one-off entries pushes out other one-off entries, not the hot ones. Reads take no lock and allocate
/// nothing; writes take one lock. Entries may carry an expiry (any clock, the caller passes "now" on reads) and a
/// group (a repository), so a whole group can be dropped at once with the bytes given back.
/// With <c>admission</c>, a full cache takes a new key only when it was offered before, recently (a doorkeeper, as in
/// TinyLFU): under misses spread over far more keys than fit, each fill would otherwise evict an entry that lived a
/// few seconds, long enough to be promoted to the GC's older generations and die there (the costly kind of garbage:
/// gen1/gen2 collections of 100+ ms), to cache a key that is not asked for again. A key asked for twice within the
/// window gets in, so hot entries still arrive on their second miss.
/// </summary>
public sealed class BoundedCache<TKey, TValue> where TKey : notnull
{
    /// <summary>
    /// What one entry costs besides its key's and value's own objects: the node below (~80 bytes with its links),
    /// the dictionary's node (~48) and bucket slot with room for growth (~16), and a share of a group's head (~48).
    /// Measured by heap difference in BoundedCacheTests.
    /// </summary>
    public const int EntryOverhead = 192;

    private const int Stripes = 1024;

    private sealed class Node(TKey key, TValue value, long cost, long expires, string? group)
    {
        public readonly TKey Key = key;
        public readonly TValue Value = value;
        public readonly long Cost = cost;
        public readonly long Expires = expires;
        public readonly string? Group = group;
        public volatile bool Referenced;
        public bool Removed;
        public Node? Prev, Next;
        public Node? GroupPrev, GroupNext;
    }

    private readonly ConcurrentDictionary<TKey, Node> _map;
    private readonly Dictionary<string, Node>? _groups;
    private readonly long[]? _generations;
    private readonly Lock _lock = new();
    private readonly long _maxBytes;
    private readonly Doorkeeper? _doorkeeper;
    private Node? _hand;
    private long _bytes;

    /// <param name="maxBytes">The bound on <see cref="Bytes"/>.</param>
    /// <param name="comparer">Key equality.</param>
    /// <param name="grouped">Entries belong to groups that <see cref="RemoveGroup"/> drops (and <see cref="Ticket"/> guards).</param>
    /// <param name="admission">
    /// When full, admit a key only if it was offered before within about <c>maxBytes / 1 KiB</c> offers (see the class
    /// summary). Costs a fixed 1/256 of <paramref name="maxBytes"/> (two bit arrays), not counted in <see cref="Bytes"/>.
    /// </param>
    public BoundedCache(long maxBytes, IEqualityComparer<TKey>? comparer = null, bool grouped = false, bool admission = false)
    {
        _maxBytes = maxBytes;
        _map = new ConcurrentDictionary<TKey, Node>(comparer);
        if (admission) _doorkeeper = new Doorkeeper(maxBytes);
        if (grouped)
        {
            _groups = new Dictionary<string, Node>(StringComparer.Ordinal);
            _generations = new long[Stripes];
        }
    }

    public long MaxBytes => _maxBytes;

    /// <summary>What the entries cost now, never more than <see cref="MaxBytes"/>.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public int Count => _map.Count;

    public bool TryGet(TKey key, long now, out TValue value)
    {
        if (_map.TryGetValue(key, out var node) && now < node.Expires)
        {
            // Written only when it changes: a hot entry read by every core would otherwise bounce its cache line.
            if (!node.Referenced) node.Referenced = true;
            value = node.Value;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>
    /// Taken before reading what will be cached for <paramref name="group"/>; <see cref="Set"/> with it stores nothing
    /// when the group was dropped in between, so a reader that raced with a write cannot cache what the write replaced.
    /// Groups share 1,024 counters: a collision only skips a fill.
    /// </summary>
    public long Ticket(string group) => Volatile.Read(ref _generations![Stripe(group)]);

    /// <summary>
    /// Stores an entry costing <paramref name="cost"/> bytes (its key's and value's objects, not counting
    /// <see cref="EntryOverhead"/>) until <paramref name="expires"/>, evicting others to make room. False when it
    /// cannot fit at all or the group's <paramref name="ticket"/> is stale.
    /// </summary>
    public bool Set(TKey key, TValue value, long cost, long expires = long.MaxValue, string? group = null, long ticket = 0)
    {
        var total = cost + EntryOverhead;
        if (total > _maxBytes) return false;
        lock (_lock)
        {
            if (group is not null && _generations![Stripe(group)] != ticket) return false;
            var replaced = _map.TryGetValue(key, out var old);
            if (_doorkeeper is not null && !replaced && _bytes + total > _maxBytes && !_doorkeeper.Admit(_map.Comparer.GetHashCode(key)))
            {
                return false;
            }
            if (replaced) Unlink(old!);
            while (_bytes + total > _maxBytes && _hand is not null) EvictOne();
            var node = new Node(key, value, total, expires, group);
            _map[key] = node;
            LinkBeforeHand(node);
            if (group is not null)
            {
                ref var head = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_groups!, group, out _);
                node.GroupNext = head;
                if (head is not null) head.GroupPrev = node;
                head = node;
            }
            Interlocked.Add(ref _bytes, total);
            return true;
        }
    }

    public bool Remove(TKey key)
    {
        lock (_lock)
        {
            if (!_map.TryGetValue(key, out var node)) return false;
            Unlink(node);
            return true;
        }
    }

    /// <summary>Drops every entry of <paramref name="group"/> and gives back their bytes; fills that began before are refused.</summary>
    public void RemoveGroup(string group)
    {
        lock (_lock)
        {
            _generations![Stripe(group)]++;
            while (_groups!.TryGetValue(group, out var head)) Unlink(head);
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            while (_hand is not null) Unlink(_hand);
        }
    }

    private void EvictOne()
    {
        // Terminates: every skipped node loses its mark, so the second pass evicts at the latest.
        while (true)
        {
            var node = _hand!;
            _hand = node.Next;
            if (node.Referenced)
            {
                node.Referenced = false;
                continue;
            }
            Unlink(node);
            return;
        }
    }

    // New entries go just behind the hand, unreferenced: they are the last the hand reaches, and go unless read by then.
    private void LinkBeforeHand(Node node)
    {
        if (_hand is null)
        {
            node.Prev = node.Next = node;
            _hand = node;
            return;
        }
        node.Next = _hand;
        node.Prev = _hand.Prev;
        _hand.Prev!.Next = node;
        _hand.Prev = node;
    }

    private void Unlink(Node node)
    {
        if (node.Removed) return;
        node.Removed = true;
        _map.TryRemove(new KeyValuePair<TKey, Node>(node.Key, node));
        if (node.Next == node)
        {
            _hand = null;
        }
        else
        {
            node.Prev!.Next = node.Next;
            node.Next!.Prev = node.Prev;
            if (_hand == node) _hand = node.Next;
        }
        node.Prev = node.Next = null;
        if (node.Group is { } group)
        {
            if (node.GroupPrev is { } prev) prev.GroupNext = node.GroupNext;
            else if (node.GroupNext is { } next) _groups![group] = next;
            else _groups!.Remove(group);
            if (node.GroupNext is { } after) after.GroupPrev = node.GroupPrev;
            node.GroupPrev = node.GroupNext = null;
        }
        Interlocked.Add(ref _bytes, -node.Cost);
    }

    private static int Stripe(string group) => (int)((uint)group.GetHashCode() % Stripes);

    /// <summary>
    /// Keys offered lately, as two generations of a Bloom filter (two bits per key, 16 bits per key of a generation:
    /// about 3% false "seen"). A generation holds <c>window</c> offers; then the older one is cleared and reused.
    /// Used under the cache's lock.
    /// </summary>
    private sealed class Doorkeeper
    {
        private ulong[] _current, _previous;
        private readonly int _mask;
        private readonly int _window;
        private int _offers;

        public Doorkeeper(long maxBytes)
        {
            // About one offer per KiB of the bound: a key must come back within roughly a cache's worth of other offers.
            _window = (int)Math.Clamp(maxBytes >> 10, 1024, 1 << 22);
            var bits = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)_window * 16);
            _mask = bits - 1;
            _current = new ulong[bits / 64];
            _previous = new ulong[bits / 64];
        }

        /// <summary>Records an offer of the key with <paramref name="hash"/>; true when it was offered before.</summary>
        public bool Admit(int hash)
        {
            var x = (uint)hash * 0x9E3779B97F4A7C15UL;
            var a = (int)(x >> 32) & _mask;
            var b = (int)(x >> 7) & _mask;
            var seen = (Has(_current, a) && Has(_current, b)) || (Has(_previous, a) && Has(_previous, b));
            _current[a >> 6] |= 1UL << a;
            _current[b >> 6] |= 1UL << b;
            if (++_offers >= _window)
            {
                (_previous, _current) = (_current, _previous);
                Array.Clear(_current);
                _offers = 0;
            }
            return seen;
        }

        private static bool Has(ulong[] bits, int i) => (bits[i >> 6] & (1UL << i)) != 0;
    }
}

/// <summary>Honest sizes of the objects cache entries keep alive (64-bit runtime).</summary>
public static class CacheCost
{
    /// <summary>A string: 20 bytes of header and length, two per char and a terminator, rounded to 8.</summary>
    public static long Of(string? s) => s is null ? 0 : Align(22 + 2L * s.Length);

    public static long Of(byte[]? b) => b is null ? 0 : Align(24 + b.LongLength);

    public static long Align(long bytes) => (bytes + 7) & ~7L;
}
