using Berth.Core.Metadata;
using Berth.Core.Observability;
using Npgsql;

namespace Berth.Metadata;

/// <summary>
/// One PostgreSQL database shared by every Postgres store and by every node of a deployment. Opening it creates or
/// upgrades the schema (<see cref="PostgresSchema"/>) under an advisory lock, so nodes starting together on an empty
/// database apply each step once, and refuses a schema newer than this build. Transactions are READ COMMITTED; where a
/// check and a write must hold together, the check locks the rows it read (FOR SHARE / FOR UPDATE).
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    // Advisory lock keys (bigint space; per-upload locks use 64-bit hashes of the id, which these do not meet in practice).
    internal const long MigrationLock = 0x6265727468_000001; // "berth" 1
    internal const long EventsLock = 0x6265727468_000002;

    /// <summary>The channel every event insert notifies (the payload is the newest id), so other nodes need not poll.</summary>
    public const string EventsChannel = "berth_events";

    private readonly NpgsqlDataSource _source;
    private readonly TimeProvider _time;

    /// <summary>
    /// Connections held for long (upload locks, the LISTEN connection) come from a pool of their own, so that holders
    /// waiting for a query connection can never have taken every one of them.
    /// </summary>
    private readonly NpgsqlDataSource _sessions;

    private readonly Lazy<EventListener> _listener;

    private PostgresDatabase(string connectionString, TimeProvider time)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.ApplicationName ??= "berth";
        // The same few statements run all the time (a tag, a manifest, a blob size, a visibility): prepared on each
        // connection once they recur, they skip PostgreSQL's parse and plan. A setting in the connection string wins.
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0) builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
        _source = builder.Build();
        var sessions = new NpgsqlDataSourceBuilder(connectionString);
        sessions.ConnectionStringBuilder.ApplicationName = (sessions.ConnectionStringBuilder.ApplicationName ?? "berth") + " (locks)";
        // A held connection is idle on the wire: keepalives find a dead server, so a lost lock or listener is noticed.
        if (sessions.ConnectionStringBuilder.KeepAlive == 0) sessions.ConnectionStringBuilder.KeepAlive = 30;
        _sessions = sessions.Build();
        _time = time;
        _listener = new(() => new EventListener(_sessions, time));
    }

    /// <summary>
    /// Connects to the database <paramref name="connectionString"/> names (an Npgsql connection string) and creates or
    /// upgrades its schema. <paramref name="time"/> is the clock rows are stamped with (<see cref="Now"/>).
    /// Without <paramref name="create"/>, a database without Berth's schema is refused (<see cref="NoSchemaException"/>), untouched.
    /// </summary>
    public static async Task<PostgresDatabase> OpenAsync(string connectionString, TimeProvider time, CancellationToken ct, bool create = true)
    {
        var db = new PostgresDatabase(connectionString, time);
        try
        {
            await db.MigrateAsync(create, ct);
            return db;
        }
        catch
        {
            await db.DisposeAsync();
            throw;
        }
    }

    /// <summary>The time written into rows (created, updated, revoked): Unix milliseconds from the injected clock.</summary>
    internal long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Thrown by <see cref="OpenAsync"/> without create when the database holds no Berth schema.</summary>
    public sealed class NoSchemaException() : Exception("the database holds no Berth schema");

    private async Task MigrateAsync(bool create, CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        if (!create && await Sql.Scalar(c, null, "SELECT to_regclass('schema_version')::text", ct) is null) throw new NoSchemaException();
        await using var tx = await c.BeginTransactionAsync(ct);
        // Held to the end of the transaction: a node that waited here finds the schema the first one made.
        await Sql.Exec(c, tx, $"SELECT pg_advisory_xact_lock({MigrationLock})", ct);
        await Sql.Exec(c, tx, "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied bigint NOT NULL)", ct);
        var version = Convert.ToInt32(await Sql.Scalar(c, tx, "SELECT coalesce(max(version), 0) FROM schema_version", ct));
        if (version > PostgresSchema.Steps.Length)
        {
            throw new InvalidOperationException($"the database has schema version {version}, newer than this Berth knows ({PostgresSchema.Steps.Length}); upgrade Berth");
        }
        for (var i = version; i < PostgresSchema.Steps.Length; i++)
        {
            await Sql.Exec(c, tx, PostgresSchema.Steps[i], ct);
            await Sql.Exec(c, tx, "INSERT INTO schema_version (version, applied) VALUES (@v, @t)", ct, ("@v", i + 1), ("@t", Now()));
        }
        await tx.CommitAsync(ct);
    }

    internal TimeProvider Time => _time;

    internal ValueTask<NpgsqlConnection> ConnectAsync(CancellationToken ct) => _source.OpenConnectionAsync(ct);

    /// <summary>
    /// Holds the advisory lock <paramref name="key"/> on a connection of its own, in a transaction, until disposed; the
    /// server lets go by itself when the process or its connection dies.
    /// </summary>
    internal async Task<IAsyncDisposable> HoldAsync(long key, CancellationToken ct)
    {
        var c = await _sessions.OpenConnectionAsync(ct);
        try
        {
            var tx = await c.BeginTransactionAsync(ct);
            await Sql.Exec(c, tx, "SELECT pg_advisory_xact_lock(@k)", ct, ("@k", key));
            return new Hold(c, tx);
        }
        catch
        {
            // Cancelled while waiting: closing the connection ends the transaction and its place in the queue.
            await c.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The advisory lock <paramref name="key"/> on a connection of its own if nobody holds it, else null at once; held
    /// until disposed, or until the process or its connection dies.
    /// </summary>
    internal async Task<IAsyncDisposable?> TryHoldAsync(long key, CancellationToken ct)
    {
        var c = await _sessions.OpenConnectionAsync(ct);
        try
        {
            var tx = await c.BeginTransactionAsync(ct);
            if (await Sql.Scalar(c, tx, "SELECT pg_try_advisory_xact_lock(@k)", ct, ("@k", key)) is true) return new Hold(c, tx);
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
        await c.DisposeAsync();
        return null;
    }

    private sealed class Hold(NpgsqlConnection c, NpgsqlTransaction tx) : IAsyncDisposable
    {
        private int _released;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            try
            {
                await tx.RollbackAsync();
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // The connection broke: the server ended the transaction, and the lock with it.
            }
            finally
            {
                await c.DisposeAsync();
            }
        }
    }

    /// <summary>This process's one listener on <see cref="EventsChannel"/>, started at first use.</summary>
    internal EventListener Listener => _listener.Value;

    public async ValueTask DisposeAsync()
    {
        if (_listener.IsValueCreated) await _listener.Value.DisposeAsync();
        await _sessions.DisposeAsync();
        await _source.DisposeAsync();
    }
}

/// <summary>
/// LISTEN on <see cref="PostgresDatabase.EventsChannel"/> on one connection per process, so a reader of the outbox learns of
/// another node's events at once instead of at its next poll. Each notification (its payload the newest event id) wakes
/// every waiter; a lost connection is opened again after a second, and waiters are woken then too, since notifications
/// sent meanwhile were missed.
/// </summary>
internal sealed class EventListener : IAsyncDisposable
{
    private readonly NpgsqlDataSource _source;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly Task _loop;
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _newest;

    public EventListener(NpgsqlDataSource source, TimeProvider time)
    {
        _source = source;
        _time = time;
        _loop = Task.Run(ListenAsync);
    }

    /// <summary>Returns when an event after <paramref name="afterId"/> was notified (at once if one already was), else after <paramref name="maxWait"/>.</summary>
    public async Task WaitAsync(long afterId, TimeSpan maxWait, CancellationToken ct)
    {
        Task signal;
        lock (_gate)
        {
            if (_newest > afterId) return;
            signal = _next.Task;
        }
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(maxWait, _time, cancel.Token);
        await Task.WhenAny(signal, delay);
        await cancel.CancelAsync();
        ct.ThrowIfCancellationRequested();
    }

    private void Wake(long newest)
    {
        TaskCompletionSource woken;
        lock (_gate)
        {
            if (newest > _newest) _newest = newest;
            woken = _next;
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        woken.TrySetResult();
    }

    private async Task ListenAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var c = await _source.OpenConnectionAsync(ct);
                c.Notification += (_, n) => Wake(long.TryParse(n.Payload, out var id) ? id : 0);
                await Sql.Exec(c, null, $"LISTEN {PostgresDatabase.EventsChannel}", ct);
                Wake(0);
                while (true) await c.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or System.IO.IOException or TimeoutException)
            {
                Wake(0);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}

/// <summary>The PostgreSQL dialect's counterparts of <see cref="Sql"/>'s SQLite helpers (parameters are @name).</summary>
internal static class Pg
{
    /// <summary>Creates the repository if it is new: it exists once something was pushed to it.</summary>
    public static Task EnsureRepository(NpgsqlConnection c, NpgsqlTransaction tx, string repository, long now, CancellationToken ct) =>
        Sql.Exec(c, tx, "INSERT INTO repositories (name, created) VALUES (@r, @t) ON CONFLICT DO NOTHING", ct, ("@r", repository), ("@t", now));

    /// <summary>Links the blob; linking again refreshes the link's time, from which garbage collection's grace window counts.</summary>
    public static Task Link(NpgsqlConnection c, NpgsqlTransaction tx, string repository, string digest, long now, CancellationToken ct) =>
        Sql.Exec(c, tx, "INSERT INTO repository_blobs (repository, digest, created) VALUES (@r, @d, @t) ON CONFLICT (repository, digest) DO UPDATE SET created = excluded.created", ct, ("@r", repository), ("@d", digest), ("@t", now));

    /// <summary>
    /// Writes <paramref name="events"/> (their ids ignored) into the outbox and notifies <see cref="PostgresDatabase.EventsChannel"/>,
    /// in one round trip that first takes the events lock; the caller commits next. Held to the commit, the lock makes
    /// event ids commit in the order they were given out, so a reader's cursor never passes an id still to commit.
    /// Call it last in the transaction, so the lock is held as briefly as possible.
    /// </summary>
    public static Task Events(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct, params RegistryEvent[] events)
    {
        var sql = new System.Text.StringBuilder($"SELECT pg_advisory_xact_lock({PostgresDatabase.EventsLock});\n");
        var p = new List<(string, object?)>();
        for (var i = 0; i < events.Length; i++)
        {
            var e = events[i];
            sql.Append($"INSERT INTO events (time, kind, repository, subject, digest, tag, detail, actor, request_id, address) VALUES (@t{i}, @k{i}, @r{i}, @s{i}, @d{i}, @g{i}, @x{i}, @a{i}, @q{i}, @i{i});\n");
            p.AddRange([($"@t{i}", Sql.Ms(e.Time)), ($"@k{i}", e.Kind), ($"@r{i}", e.Repository), ($"@s{i}", e.Subject), ($"@d{i}", e.Digest), ($"@g{i}", e.Tag),
                ($"@x{i}", e.Detail), ($"@a{i}", RequestContext.ActorOr(e.Actor)), ($"@q{i}", e.RequestId ?? RequestContext.Current?.RequestId),
                ($"@i{i}", e.Address ?? RequestContext.Current?.Address)]);
        }
        sql.Append($"SELECT pg_notify('{PostgresDatabase.EventsChannel}', lastval()::text);");
        return Sql.Exec(c, tx, sql.ToString(), ct, [.. p]);
    }

    /// <summary>
    /// Runs one statement in a transaction and, when it changed a row, writes <paramref name="e"/> in the same
    /// transaction. Returns the number of rows changed.
    /// </summary>
    public static async Task<int> Recorded(PostgresDatabase db, RegistryEvent e, string sql, CancellationToken ct, params (string, object?)[] p)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var changed = await Sql.Exec(c, tx, sql, ct, p);
        if (changed == 0) return 0;
        await Events(c, tx, ct, e);
        await tx.CommitAsync(ct);
        return changed;
    }
}
