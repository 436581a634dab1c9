using Berth.Core.Access;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class PostgresAuditLog(PostgresDatabase db) : IAuditLog
{
    public async Task AppendAsync(AuditEvent e, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "INSERT INTO audit_events (time, actor, address, action, target, success, detail) VALUES (@t, @a, @ip, @x, @g, @s, @d)", ct,
            ("@t", Ms(e.Time)), ("@a", e.Actor), ("@ip", e.Address), ("@x", e.Action), ("@g", e.Target), ("@s", e.Success), ("@d", e.Detail));
    }

    public async Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery q, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, """
            SELECT id, time, actor, address, action, target, success, detail FROM audit_events
            WHERE (@a::text IS NULL OR actor = @a::text) AND (@x::text IS NULL OR action = @x::text) AND (@g::text IS NULL OR target = @g::text)
              AND (@since::bigint IS NULL OR time >= @since::bigint) AND (@before::bigint IS NULL OR id < @before::bigint)
            ORDER BY id DESC LIMIT @n
            """, r => new AuditEvent(r.GetInt64(0), Time(r.GetInt64(1)), r.GetString(2), Text(r, 3), r.GetString(4), r.GetString(5), r.GetBoolean(6), Text(r, 7)), ct,
            ("@a", q.Actor), ("@x", q.Action), ("@g", q.Target), ("@since", q.Since is { } s ? Ms(s) : null), ("@before", q.BeforeId), ("@n", Math.Clamp(q.Limit, 1, 1000)));
    }
}
