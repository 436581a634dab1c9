using System.Data.Common;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class SqliteEventLog(SqliteDatabase db) : IEventLog
{
    public async Task<IReadOnlyList<RegistryEvent>> ReadAfterAsync(long afterId, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT id, time, kind, repository, subject, digest, tag, detail, actor, request_id, address FROM events WHERE id > $id ORDER BY id LIMIT $n",
            Read, ct, ("$id", afterId), ("$n", Math.Clamp(limit, 1, 1000)));
    }

    public async Task<long> LastIdAsync(CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        // sqlite_sequence keeps the highest id ever given out, also once those events were pruned.
        return Convert.ToInt64(await Scalar(c, null, "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)", ct));
    }

    /// <summary>SQLite cannot tell: the reader polls every <paramref name="maxWait"/>.</summary>
    public Task WaitAsync(long afterId, TimeSpan maxWait, CancellationToken ct) => Task.Delay(maxWait, db.Time, ct);

    public async Task<int> PruneBeforeAsync(DateTimeOffset before, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Exec(c, null, "DELETE FROM events WHERE time < $t", ct, ("$t", Ms(before)));
    }

    private static RegistryEvent Read(DbDataReader r) => new(r.GetInt64(0), Time(r.GetInt64(1)), r.GetString(2), Text(r, 3), Text(r, 4), Text(r, 5),
        Text(r, 6), Text(r, 7), Text(r, 8), Text(r, 9), Text(r, 10));
}
