using Berth.Core.Access;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

/// <summary>
/// Pull windows and sign-in failures in the database, shared by every node. Each call is one upsert, atomic against
/// every other call for the key (the row is locked by the conflict), with the rules of <see cref="MemoryLimitCounters"/>.
/// Ended windows and lockouts are deleted now and then, by the call that happens to come by.
/// </summary>
public sealed class PostgresLimitCounters(PostgresDatabase db) : ILimitCounters
{
    private int _calls;

    private static long Length(TimeSpan t) => (long)t.TotalMilliseconds;

    public async Task<WindowCount> CountAsync(string key, int limit, TimeSpan window, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await PruneSometimesAsync(c, now, ct);
        // A window that ended starts again at this pull; a full one refuses it, uncounted.
        var rows = await Rows(c, null, """
            INSERT INTO limit_windows AS w (key, start, length, count, allowed)
            VALUES (@k, @now, @len, CASE WHEN @limit > 0 THEN 1 ELSE 0 END, @limit > 0)
            ON CONFLICT (key) DO UPDATE SET
                start = CASE WHEN @now - w.start >= @len THEN @now ELSE w.start END,
                count = CASE WHEN @now - w.start >= @len THEN CASE WHEN @limit > 0 THEN 1 ELSE 0 END
                             WHEN w.count >= @limit THEN w.count ELSE w.count + 1 END,
                allowed = CASE WHEN @now - w.start >= @len THEN @limit > 0 ELSE w.count < @limit END,
                length = @len
            RETURNING allowed, count, start
            """, r => new WindowCount(r.GetBoolean(0), r.GetInt32(1), Time(r.GetInt64(2))), ct,
            ("@k", key), ("@now", Ms(now)), ("@len", Length(window)), ("@limit", limit));
        return rows[0];
    }

    public async Task<FailureCount?> GetFailuresAsync(string key, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var rows = await Rows(c, null, "SELECT failures, last_failure, locked_until FROM limit_failures WHERE key = @k", ReadFailures, ct, ("@k", key));
        return rows.Count > 0 ? rows[0] : null;
    }

    public async Task<FailureCount> RecordFailureAsync(string key, int maxFailures, TimeSpan lockout, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await PruneSometimesAsync(c, now, ct);
        // n: this failure's number (failures older than the lockout forgotten); reaching the maximum locks and starts again at 0.
        const string n = "(CASE WHEN @now - f.last_failure > @lockout THEN 1 ELSE f.failures + 1 END)";
        var rows = await Rows(c, null, $"""
            INSERT INTO limit_failures AS f (key, failures, last_failure, locked_until, lockout)
            VALUES (@k, CASE WHEN 1 >= @max THEN 0 ELSE 1 END, @now, CASE WHEN 1 >= @max THEN @now + @lockout END, @lockout)
            ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN {n} >= @max THEN 0 ELSE {n} END,
                locked_until = CASE WHEN {n} >= @max THEN @now + @lockout ELSE f.locked_until END,
                last_failure = @now,
                lockout = @lockout
            RETURNING failures, last_failure, locked_until
            """, ReadFailures, ct, ("@k", key), ("@max", maxFailures), ("@lockout", Length(lockout)), ("@now", Ms(now)));
        return rows[0];
    }

    public async Task ClearFailuresAsync(string key, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "DELETE FROM limit_failures WHERE key = @k", ct, ("@k", key));
    }

    private static FailureCount ReadFailures(System.Data.Common.DbDataReader r) =>
        new(r.GetInt32(0), Time(r.GetInt64(1)), r.IsDBNull(2) ? DateTimeOffset.MinValue : Time(r.GetInt64(2)));

    /// <summary>Every 1000th call of this process deletes the windows and failures that ended (both tables index their end).</summary>
    private async Task PruneSometimesAsync(Npgsql.NpgsqlConnection c, DateTimeOffset now, CancellationToken ct)
    {
        if (Interlocked.Increment(ref _calls) % 1000 != 0) return;
        await Exec(c, null, """
            DELETE FROM limit_windows WHERE (start + length) <= @now;
            DELETE FROM limit_failures WHERE (greatest(last_failure + lockout, coalesce(locked_until, 0))) < @now
            """, ct, ("@now", Ms(now)));
    }
}
