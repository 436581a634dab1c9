using System.Collections.Concurrent;

namespace Berth.Core.Access;

/// <summary>
/// Repeated failed sign-ins for one account from one address slow down (a growing delay before each failure is
/// answered) and then lock out that pair for <paramref name="lockout"/>. Keyed by account and address together, so a
/// stranger cannot lock the real owner out from elsewhere.
/// </summary>
public sealed class LoginThrottle(TimeProvider time, int maxFailures, TimeSpan lockout)
{
    private static readonly TimeSpan DelayStep = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(2);

    private sealed record State(int Failures, DateTimeOffset LastFailure, DateTimeOffset LockedUntil);

    private readonly ConcurrentDictionary<string, State> _states = new(StringComparer.Ordinal);

    /// <summary>How long the pair stays locked, or null when it may try.</summary>
    public TimeSpan? LockedFor(string account, string? address)
    {
        if (!_states.TryGetValue(Key(account, address), out var s)) return null;
        var left = s.LockedUntil - time.GetUtcNow();
        return left > TimeSpan.Zero ? left : null;
    }

    /// <summary>Records a failure; returns the delay to wait before answering it.</summary>
    public TimeSpan Failed(string account, string? address)
    {
        var now = time.GetUtcNow();
        if (_states.Count > 100_000) Prune(now);
        var s = _states.AddOrUpdate(Key(account, address), _ => new State(1, now, DateTimeOffset.MinValue), (_, old) =>
        {
            // Failures older than a lockout period are forgotten.
            var failures = now - old.LastFailure > lockout ? 1 : old.Failures + 1;
            return failures >= maxFailures ? new State(0, now, now + lockout) : new State(failures, now, old.LockedUntil);
        });
        var delay = DelayStep * Math.Max(s.Failures, 1);
        return delay < MaxDelay ? delay : MaxDelay;
    }

    public void Succeeded(string account, string? address) => _states.TryRemove(Key(account, address), out _);

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, s) in _states)
        {
            if (now - s.LastFailure > lockout && now > s.LockedUntil) _states.TryRemove(key, out _);
        }
    }

    private static string Key(string account, string? address) => account + "\n" + address;
}

/// <summary>
/// Pull limits like Docker Hub's: a fixed window per key (an account, or an address for anonymous callers) that
/// starts with the key's first pull. In memory: each node of a scale-out deployment counts its own pulls.
/// </summary>
public sealed class PullLimiter(TimeProvider time, TimeSpan window)
{
    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start = start;
        public int Count;
    }

    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    public TimeSpan WindowLength => window;

    /// <summary>Counts one pull against <paramref name="limit"/>. Returns whether it is allowed, what is left, and when the window resets.</summary>
    public (bool Allowed, int Remaining, TimeSpan ResetIn) Acquire(string key, int limit)
    {
        var now = time.GetUtcNow();
        if (_windows.Count > 100_000) Prune(now);
        var w = _windows.GetOrAdd(key, _ => new Window(now));
        lock (w)
        {
            if (now - w.Start >= window)
            {
                w.Start = now;
                w.Count = 0;
            }
            var resetIn = w.Start + window - now;
            if (w.Count >= limit) return (false, 0, resetIn);
            w.Count++;
            return (true, limit - w.Count, resetIn);
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, w) in _windows)
        {
            if (now - w.Start >= window) _windows.TryRemove(key, out _);
        }
    }
}
