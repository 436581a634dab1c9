using System.Data.Common;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class PostgresEventLog(PostgresDatabase db) : IEventLog
{
    public async Task<IReadOnlyList<RegistryEvent>> ReadAfterAsync(long afterId, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT id, time, kind, repository, subject, digest, tag, detail, actor, request_id, address FROM events WHERE id > @id ORDER BY id LIMIT @n",
            Read, ct, ("@id", afterId), ("@n", Math.Clamp(limit, 1, 1000)));
    }

    public async Task<long> LastIdAsync(CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        // The shared side of the events lock waits for writers between taking an id and committing it, so the id
        // answered is committed (or rolled back, and never given out again). The sequence keeps the highest id ever
        // given out, also once those events were pruned.
        await Exec(c, tx, $"SELECT pg_advisory_xact_lock_shared({PostgresDatabase.EventsLock})", ct);
        return Convert.ToInt64(await Scalar(c, tx, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq", ct));
    }

    /// <summary>Woken by the NOTIFY every event insert sends, through this process's one LISTEN connection.</summary>
    public Task WaitAsync(long afterId, TimeSpan maxWait, CancellationToken ct) => db.Listener.WaitAsync(afterId, maxWait, ct);

    public async Task<int> PruneBeforeAsync(DateTimeOffset before, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Exec(c, null, "DELETE FROM events WHERE time < @t", ct, ("@t", Ms(before)));
    }

    private static RegistryEvent Read(DbDataReader r) => new(r.GetInt64(0), Time(r.GetInt64(1)), r.GetString(2), Text(r, 3), Text(r, 4), Text(r, 5),
        Text(r, 6), Text(r, 7), Text(r, 8), Text(r, 9), Text(r, 10));
}
