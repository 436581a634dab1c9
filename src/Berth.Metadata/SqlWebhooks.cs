using System.Data.Common;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

/// <summary>
/// <see cref="IWebhooks"/> in SQL both dialects read alike (named <c>@</c> parameters, <c>RETURNING</c>, <c>ON CONFLICT</c>);
/// <see cref="SqliteWebhooks"/> and <see cref="PostgresWebhooks"/> say how to connect and how to begin a write.
/// </summary>
public abstract class SqlWebhooks : IWebhooks
{
    private const string Columns = "id, hook, event, kind, payload, state, attempts, next_attempt, last_status, last_error, created, updated";

    private protected abstract Task<DbConnection> ConnectAsync(CancellationToken ct);

    private protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection c, CancellationToken ct);

    public async Task<Webhook> CreateAsync(Webhook hook, CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var id = Convert.ToInt64(await Scalar(c, tx,
            "INSERT INTO webhooks (namespace, url, secret, events, repositories, created, configured) VALUES (@n, @u, @s, @e, @r, @t, @c) RETURNING id", ct,
            ("@n", hook.Namespace), ("@u", hook.Url), ("@s", hook.Secret), ("@e", string.Join(',', hook.Events)), ("@r", hook.Repositories), ("@t", Ms(hook.Created)),
            ("@c", hook.Configured)));
        await tx.CommitAsync(ct);
        return hook with { Id = id };
    }

    public async Task<Webhook?> GetAsync(long id, CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        var rows = await Rows(c, null, "SELECT id, namespace, url, secret, events, repositories, created, configured FROM webhooks WHERE id = @i", ReadHook, ct, ("@i", id));
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<Webhook>> ListAsync(string? ns, CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        return ns is null
            ? await Rows(c, null, "SELECT id, namespace, url, secret, events, repositories, created, configured FROM webhooks ORDER BY id", ReadHook, ct)
            : await Rows(c, null, "SELECT id, namespace, url, secret, events, repositories, created, configured FROM webhooks WHERE namespace = @n ORDER BY id", ReadHook, ct, ("@n", ns));
    }

    public async Task<bool> DeleteAsync(long id, CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var deleted = await Exec(c, tx, "DELETE FROM webhooks WHERE id = @i", ct, ("@i", id));
        await Exec(c, tx, "DELETE FROM webhook_deliveries WHERE hook = @i", ct, ("@i", id));
        await tx.CommitAsync(ct);
        return deleted > 0;
    }

    public async Task<long?> CursorAsync(CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        return await Scalar(c, null, "SELECT position FROM webhook_cursor WHERE name = 'events'", ct) is { } v and not DBNull ? Convert.ToInt64(v) : null;
    }

    public async Task EnqueueAsync(IReadOnlyList<NewDelivery> deliveries, long cursor, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        foreach (var d in deliveries)
        {
            await Exec(c, tx,
                "INSERT INTO webhook_deliveries (hook, event, kind, payload, state, attempts, next_attempt, created, updated) " +
                "VALUES (@h, @e, @k, @p, 'pending', 0, @t, @t, @t) ON CONFLICT (hook, event) DO NOTHING", ct,
                ("@h", d.Hook), ("@e", d.Event), ("@k", d.Kind), ("@p", d.Payload), ("@t", Ms(now)));
        }
        await Exec(c, tx, "INSERT INTO webhook_cursor (name, position) VALUES ('events', @p) ON CONFLICT (name) DO UPDATE SET position = excluded.position", ct,
            ("@p", cursor));
        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<WebhookDelivery>> DueAsync(DateTimeOffset now, int limit, CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        return await Rows(c, null, $"SELECT {Columns} FROM webhook_deliveries WHERE state = 'pending' AND next_attempt <= @t ORDER BY next_attempt, id LIMIT @n",
            ReadDelivery, ct, ("@t", Ms(now)), ("@n", Math.Clamp(limit, 1, 1000)));
    }

    public async Task RecordAttemptAsync(long delivery, string state, int? status, string? error, DateTimeOffset? nextAttempt, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        await Exec(c, tx,
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = @s, last_status = @st, last_error = @e, next_attempt = @n, updated = @t WHERE id = @i", ct,
            ("@s", state), ("@st", status), ("@e", error), ("@n", nextAttempt is { } n ? Ms(n) : null), ("@t", Ms(now)), ("@i", delivery));
        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(long hook, int limit, CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        return await Rows(c, null, $"SELECT {Columns} FROM webhook_deliveries WHERE hook = @h ORDER BY id DESC LIMIT @n", ReadDelivery, ct,
            ("@h", hook), ("@n", Math.Clamp(limit, 1, 1000)));
    }

    public async Task<int> PruneDeliveriesAsync(DateTimeOffset before, CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var n = await Exec(c, tx, "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated < @t", ct, ("@t", Ms(before)));
        await tx.CommitAsync(ct);
        return n;
    }

    private static Webhook ReadHook(DbDataReader r) => new(r.GetInt64(0), Text(r, 1), r.GetString(2), r.GetString(3),
        r.GetString(4).Split(',', StringSplitOptions.RemoveEmptyEntries), r.GetString(5), Time(r.GetInt64(6)), Convert.ToBoolean(r.GetValue(7), System.Globalization.CultureInfo.InvariantCulture));

    private static WebhookDelivery ReadDelivery(DbDataReader r) => new(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.GetString(4),
        r.GetString(5), Convert.ToInt32(r.GetValue(6)), r.IsDBNull(7) ? null : Time(r.GetInt64(7)), r.IsDBNull(8) ? null : Convert.ToInt32(r.GetValue(8)),
        Text(r, 9), Time(r.GetInt64(10)), Time(r.GetInt64(11)));
}

public sealed class SqliteWebhooks(SqliteDatabase db) : SqlWebhooks
{
    private protected override async Task<DbConnection> ConnectAsync(CancellationToken ct) => await db.ConnectAsync(ct);

    private protected override async Task<DbTransaction> BeginWriteAsync(DbConnection c, CancellationToken ct) =>
        await Sql.BeginWriteAsync((Microsoft.Data.Sqlite.SqliteConnection)c, ct);
}

public sealed class PostgresWebhooks(PostgresDatabase db) : SqlWebhooks
{
    private protected override async Task<DbConnection> ConnectAsync(CancellationToken ct) => await db.ConnectAsync(ct);

    private protected override async Task<DbTransaction> BeginWriteAsync(DbConnection c, CancellationToken ct) => await c.BeginTransactionAsync(ct);
}
