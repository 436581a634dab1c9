using Berth.Core.Access;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class SqliteAuditLog(SqliteDatabase db) : IAuditLog
{
    public async Task AppendAsync(AuditEvent e, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "INSERT INTO audit_events (time, actor, address, action, target, success, detail) VALUES ($t, $a, $ip, $x, $g, $s, $d)", ct,
            ("$t", e.Time.ToUnixTimeMilliseconds()), ("$a", e.Actor), ("$ip", e.Address), ("$x", e.Action), ("$g", e.Target), ("$s", e.Success ? 1 : 0), ("$d", e.Detail));
    }

    public async Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery q, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, """
            SELECT id, time, actor, address, action, target, success, detail FROM audit_events
            WHERE ($a IS NULL OR actor = $a) AND ($x IS NULL OR action = $x) AND ($g IS NULL OR target = $g)
              AND ($since IS NULL OR time >= $since) AND ($before IS NULL OR id < $before)
            ORDER BY id DESC LIMIT $n
            """, r => new AuditEvent(r.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
                r.GetString(4), r.GetString(5), r.GetInt64(6) != 0, r.IsDBNull(7) ? null : r.GetString(7)), ct,
            ("$a", q.Actor), ("$x", q.Action), ("$g", q.Target), ("$since", q.Since?.ToUnixTimeMilliseconds()), ("$before", q.BeforeId), ("$n", Math.Clamp(q.Limit, 1, 1000)));
    }
}
