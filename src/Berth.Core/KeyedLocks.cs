namespace Berth.Core;

/// <summary>
/// Mutual exclusion per key within one process: a holder per key at a time, the others wait in turn. Entries exist
/// only while someone holds or waits for the key, so the table is bounded by the work in flight.
/// </summary>
public sealed class KeyedLocks
{
    private sealed class Entry
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public int Users;
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public async Task<IAsyncDisposable> AcquireAsync(string key, CancellationToken ct)
    {
        var entry = Enter(key);
        try
        {
            await entry.Gate.WaitAsync(ct);
        }
        catch
        {
            Leave(key, entry);
            throw;
        }
        return new Hold(this, key, entry);
    }

    /// <summary>A hold on <paramref name="key"/>, or null at once when someone holds it.</summary>
    public IAsyncDisposable? TryAcquire(string key)
    {
        var entry = Enter(key);
        if (entry.Gate.Wait(0)) return new Hold(this, key, entry);
        Leave(key, entry);
        return null;
    }

    /// <summary>The key's entry, counted as used until <see cref="Leave"/>.</summary>
    private Entry Enter(string key)
    {
        lock (_entries)
        {
            if (!_entries.TryGetValue(key, out var entry)) _entries[key] = entry = new Entry();
            entry.Users++;
            return entry;
        }
    }

    private void Leave(string key, Entry entry)
    {
        lock (_entries)
        {
            if (--entry.Users == 0) _entries.Remove(key);
        }
    }

    private sealed class Hold(KeyedLocks owner, string key, Entry entry) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                entry.Gate.Release();
                owner.Leave(key, entry);
            }
            return ValueTask.CompletedTask;
        }
    }
}
