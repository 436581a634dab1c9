using System.Collections.Concurrent;

namespace Berth.Core.Access;

/// <summary>A pull counted in its window: whether it was allowed, the count after it, and when the window started.</summary>
public readonly record struct WindowCount(bool Allowed, int Count, DateTimeOffset Start);

/// <summary>Failed sign-ins of one key: how many in a row, the last one, and until when the key is locked (or MinValue).</summary>
public sealed record FailureCount(int Failures, DateTimeOffset LastFailure, DateTimeOffset LockedUntil);

/// <summary>
/// The counters behind pull limits and the sign-in throttle. A single node keeps them in memory
/// (<see cref="MemoryLimitCounters"/>); the nodes of a cluster share them through the database, so a limit holds
/// whichever node a request reaches. Contract for every backend: times come from the caller (<c>now</c>), never from
/// the backend's clock; each call is atomic against concurrent calls for the same key from any node; a backend may
/// forget keys whose window or lockout ended.
/// </summary>
public interface ILimitCounters
{
    /// <summary>
    /// Counts one pull of <paramref name="key"/> in a fixed window that starts with the key's first pull and lasts
    /// <paramref name="window"/>; a pull after the window ended starts a new one. A pull when the window already holds
    /// <paramref name="limit"/> is refused and not counted.
    /// </summary>
    Task<WindowCount> CountAsync(string key, int limit, TimeSpan window, DateTimeOffset now, CancellationToken ct);

    /// <summary>The key's failures, or null when it has none recorded.</summary>
    Task<FailureCount?> GetFailuresAsync(string key, CancellationToken ct);

    /// <summary>
    /// Records a failure. Failures older than <paramref name="lockout"/> are forgotten first; the one that reaches
    /// <paramref name="maxFailures"/> locks the key until now + <paramref name="lockout"/> and starts the count again at 0.
    /// </summary>
    Task<FailureCount> RecordFailureAsync(string key, int maxFailures, TimeSpan lockout, DateTimeOffset now, CancellationToken ct);

    /// <summary>Forgets the key's failures (and any lockout).</summary>
    Task ClearFailuresAsync(string key, CancellationToken ct);
}

/// <summary>The counters of one process, for a single node. Bounded: past 100,000 keys, ended windows and lockouts go.</summary>
public sealed class MemoryLimitCounters : ILimitCounters
{
    private const int PruneAbove = 100_000;

    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start = start;
        public int Count;
        public TimeSpan Length;
    }

    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (FailureCount Count, TimeSpan Lockout)> _failures = new(StringComparer.Ordinal);

    public Task<WindowCount> CountAsync(string key, int limit, TimeSpan window, DateTimeOffset now, CancellationToken ct)
    {
        if (_windows.Count > PruneAbove)
        {
            foreach (var (k, old) in _windows)
            {
                if (now - old.Start >= old.Length) _windows.TryRemove(k, out _);
            }
        }
        var w = _windows.GetOrAdd(key, _ => new Window(now));
        lock (w)
        {
            w.Length = window;
            if (now - w.Start >= window)
            {
                w.Start = now;
                w.Count = 0;
            }
            if (w.Count >= limit) return Task.FromResult(new WindowCount(false, w.Count, w.Start));
            w.Count++;
            return Task.FromResult(new WindowCount(true, w.Count, w.Start));
        }
    }

    public Task<FailureCount?> GetFailuresAsync(string key, CancellationToken ct) =>
        Task.FromResult(_failures.TryGetValue(key, out var f) ? f.Count : null);

    public Task<FailureCount> RecordFailureAsync(string key, int maxFailures, TimeSpan lockout, DateTimeOffset now, CancellationToken ct)
    {
        if (_failures.Count > PruneAbove)
        {
            foreach (var (k, (f, length)) in _failures)
            {
                if (now - f.LastFailure > length && now > f.LockedUntil) _failures.TryRemove(k, out _);
            }
        }
        var updated = _failures.AddOrUpdate(key, _ => (Next(null), lockout), (_, old) => (Next(old.Count), lockout));
        return Task.FromResult(updated.Count);

        FailureCount Next(FailureCount? old)
        {
            var failures = old is null || now - old.LastFailure > lockout ? 1 : old.Failures + 1;
            return failures >= maxFailures
                ? new FailureCount(0, now, now + lockout)
                : new FailureCount(failures, now, old?.LockedUntil ?? DateTimeOffset.MinValue);
        }
    }

    public Task ClearFailuresAsync(string key, CancellationToken ct)
    {
        _failures.TryRemove(key, out _);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Repeated failed sign-ins for one account from one address slow down (a growing delay before each failure is
/// answered) and then lock out that pair for <paramref name="lockout"/>. Keyed by account and address together, so a
/// stranger cannot lock the real owner out from elsewhere.
/// </summary>
public sealed class LoginThrottle(ILimitCounters counters, TimeProvider time, int maxFailures, TimeSpan lockout)
{
    private static readonly TimeSpan DelayStep = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(2);

    /// <summary>How long the pair stays locked (null when it may try), and whether it has failures to forget on success.</summary>
    public async Task<(TimeSpan? LockedFor, bool HasFailures)> CheckAsync(string account, string? address, CancellationToken ct)
    {
        if (await counters.GetFailuresAsync(Key(account, address), ct) is not { } f) return (null, false);
        var left = f.LockedUntil - time.GetUtcNow();
        return (left > TimeSpan.Zero ? left : null, true);
    }

    /// <summary>Records a failure; returns the delay to wait before answering it.</summary>
    public async Task<TimeSpan> FailedAsync(string account, string? address, CancellationToken ct)
    {
        var f = await counters.RecordFailureAsync(Key(account, address), maxFailures, lockout, time.GetUtcNow(), ct);
        var delay = DelayStep * Math.Max(f.Failures, 1);
        return delay < MaxDelay ? delay : MaxDelay;
    }

    public Task SucceededAsync(string account, string? address, CancellationToken ct) => counters.ClearFailuresAsync(Key(account, address), ct);

    private static string Key(string account, string? address) => "login:" + account + "\n" + address;
}

/// <summary>
/// Pull limits like Docker Hub's: a fixed window per key (an account, or an address for anonymous callers) that
/// starts with the key's first pull, counted in <see cref="ILimitCounters"/> (shared by the nodes of a cluster).
/// </summary>
public sealed class PullLimiter(ILimitCounters counters, TimeProvider time, TimeSpan window)
{
    public TimeSpan WindowLength => window;

    /// <summary>Counts one pull against <paramref name="limit"/>. Returns whether it is allowed, what is left, and when the window resets.</summary>
    public async Task<(bool Allowed, int Remaining, TimeSpan ResetIn)> AcquireAsync(string key, int limit, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var c = await counters.CountAsync("pull:" + key, limit, window, now, ct);
        return (c.Allowed, Math.Max(0, limit - c.Count), c.Start + window - now);
    }
}
