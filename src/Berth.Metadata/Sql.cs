using System.Data.Common;
using Berth.Core;
using Berth.Core.Observability;
using Microsoft.Data.Sqlite;

namespace Berth.Metadata;

/// <summary>
/// One SQLite file shared by every SQLite store; opening it creates or upgrades the schema (<see cref="SqliteSchema"/>). WAL mode: readers never block the single
/// writer; writes take the write lock up front (BEGIN IMMEDIATE) so concurrent writers queue instead of
/// failing on upgrade. synchronous=NORMAL: a committed transaction survives a crash of the process (kill -9);
/// a power cut may roll back the last transactions.
/// </summary>
public sealed class SqliteDatabase
{
    private readonly string _connectionString;
    private readonly string _readConnectionString;
    private readonly TimeProvider _time;

    // Idle read connections (see Read); a stack under a lock: taken and given back once per read.
    private readonly ReadConnection?[] _idleReaders = new ReadConnection?[Math.Max(4, 2 * Environment.ProcessorCount)];
    private int _idleCount;
    private readonly Lock _readersLock = new();

    // Pooled connections keep their native handle; per-connection settings are applied once per handle.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> Configured = new();

    /// <summary>
    /// Opens the database at <paramref name="path"/>, creating it (0600) and its schema, or upgrading the schema.
    /// <paramref name="time"/> is the clock rows are stamped with (<see cref="Now"/>).
    /// </summary>
    public static async Task<SqliteDatabase> OpenAsync(string path, TimeProvider time, CancellationToken ct)
    {
        var db = new SqliteDatabase(path, time);
        await db.MigrateAsync(ct);
        return db;
    }

    private SqliteDatabase(string path, TimeProvider time)
    {
        _time = time;
        path = Path.GetFullPath(path);
        Core.Storage.PrivateFiles.CreateDirectory(Path.GetDirectoryName(path)!);
        // SQLite would create the file 0644; created empty and 0600 here, it is a new database to SQLite, and
        // SQLite gives the -wal and -shm files the database file's mode.
        if (!Path.Exists(path))
        {
            try
            {
                new FileStream(path, Core.Storage.PrivateFiles.Options(FileMode.CreateNew, FileAccess.Write)).Dispose();
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first.
            }
        }
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        // Read connections stay open for good, so they are not pooled: one is never handed to a writer (query_only).
        _readConnectionString = new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString();
    }

    /// <summary>
    /// A connection for the frequent single-row reads (tag, manifest, blob size, visibility, role, pages), taken from a
    /// few kept open with the statements they prepared: opening a pooled connection and parsing and planning the SQL
    /// again cost more than the read itself (a third of the CPU of a manifest GET that misses the cache, measured).
    /// Dispose gives it back. Use it synchronously (Microsoft.Data.Sqlite runs every call synchronously anyway) and
    /// dispose every reader, so no statement keeps a read snapshot open.
    /// </summary>
    internal ReadConnection Read()
    {
        lock (_readersLock)
        {
            if (_idleCount > 0)
            {
                var idle = _idleReaders[--_idleCount]!;
                _idleReaders[_idleCount] = null;
                return idle;
            }
        }
        var c = new SqliteConnection(_readConnectionString);
        c.Open();
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "PRAGMA busy_timeout=30000; PRAGMA query_only=1;";
            cmd.ExecuteNonQuery();
        }
        return new ReadConnection(this, c);
    }

    internal void Return(ReadConnection reader)
    {
        if (reader.Connection.State == System.Data.ConnectionState.Open)
        {
            lock (_readersLock)
            {
                if (_idleCount < _idleReaders.Length)
                {
                    _idleReaders[_idleCount++] = reader;
                    return;
                }
            }
        }
        reader.Close();
    }

    /// <summary>The time written into rows (created, updated, revoked): Unix milliseconds from the injected clock.</summary>
    internal long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    internal TimeProvider Time => _time;

    /// <summary>Uploads held by this process: the only one that serves this database.</summary>
    internal KeyedLocks UploadLocks { get; } = new();

    internal KeyedLocks JobLocks { get; } = new();

    private async Task MigrateAsync(CancellationToken ct)
    {
        await using var c = await ConnectAsync(ct);
        await Sql.Exec(c, null, "PRAGMA journal_mode=WAL;", ct);
        var version = Convert.ToInt32(await Sql.Scalar(c, null, "PRAGMA user_version;", ct));
        if (version > SqliteSchema.Steps.Length)
        {
            throw new InvalidOperationException($"the database has schema version {version}, newer than this Berth knows ({SqliteSchema.Steps.Length}); upgrade Berth");
        }
        for (var i = version; i < SqliteSchema.Steps.Length; i++)
        {
            await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct);
            await Sql.Exec(c, tx, SqliteSchema.Steps[i], ct);
            await Sql.Exec(c, tx, $"PRAGMA user_version = {i + 1};", ct);
            await tx.CommitAsync(ct);
        }
    }

    internal async Task<SqliteConnection> ConnectAsync(CancellationToken ct)
    {
        var c = new SqliteConnection(_connectionString);
        await c.OpenAsync(ct);
        if (c.Handle is { } handle && !Configured.TryGetValue(handle, out _))
        {
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;";
            await cmd.ExecuteNonQueryAsync(ct);
            Configured.AddOrUpdate(handle, handle);
        }
        return c;
    }
}

/// <summary>An open connection of <see cref="SqliteDatabase.Read"/> and the statements it prepared, by SQL text.</summary>
internal sealed class ReadConnection(SqliteDatabase db, SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public SqliteConnection Connection { get; } = connection;

    /// <summary>The prepared command for <paramref name="sql"/> with these parameter values (always the same names, in the same order, for one text).</summary>
    public SqliteCommand Command(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (_commands.TryGetValue(sql, out var cmd))
        {
            var bound = cmd.Parameters;
            if (bound.Count != parameters.Length) throw new InvalidOperationException($"{sql}: {parameters.Length} parameters, prepared with {bound.Count}");
            for (var i = 0; i < parameters.Length; i++)
            {
                var p = bound[i];
                if (p.ParameterName != parameters[i].Name) throw new InvalidOperationException($"{sql}: parameter {parameters[i].Name}, prepared with {p.ParameterName}");
                p.Value = parameters[i].Value ?? DBNull.Value;
            }
            return cmd;
        }
        cmd = Connection.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        cmd.Prepare();
        _commands[sql] = cmd;
        return cmd;
    }

    public void Dispose() => db.Return(this);

    internal void Close()
    {
        foreach (var cmd in _commands.Values) cmd.Dispose();
        Connection.Dispose();
    }
}

internal static class Sql
{
    /// <summary>An account kind as both schemas store it.</summary>
    public static string Kind(Core.Access.AccountKind kind) => kind switch
    {
        Core.Access.AccountKind.User => "user",
        Core.Access.AccountKind.Robot => "robot",
        _ => "organization",
    };

    public static Core.Access.AccountKind ParseKind(string text) => text switch
    {
        "user" => Core.Access.AccountKind.User,
        "robot" => Core.Access.AccountKind.Robot,
        _ => Core.Access.AccountKind.Organization,
    };
    /// <summary>The first row of a read (<see cref="SqliteDatabase.Read"/>) mapped by <paramref name="map"/>, or null.</summary>
    public static T? ReadOne<T>(SqliteDatabase db, string sql, Func<SqliteDataReader, T> map, CancellationToken ct, params ReadOnlySpan<(string, object?)> p) where T : class
    {
        ct.ThrowIfCancellationRequested();
        using var r = db.Read();
        using var reader = r.Command(sql, p).ExecuteReader();
        return reader.Read() ? map(reader) : null;
    }

    /// <summary>The first column of the first row of a read, or null (none, or NULL).</summary>
    public static object? ReadScalar(SqliteDatabase db, string sql, CancellationToken ct, params ReadOnlySpan<(string, object?)> p)
    {
        ct.ThrowIfCancellationRequested();
        using var r = db.Read();
        var v = r.Command(sql, p).ExecuteScalar();
        return v is DBNull ? null : v;
    }

    /// <summary>The first column of every row of a read.</summary>
    public static List<string> ReadStrings(SqliteDatabase db, string sql, CancellationToken ct, params ReadOnlySpan<(string, object?)> p)
    {
        ct.ThrowIfCancellationRequested();
        using var r = db.Read();
        using var reader = r.Command(sql, p).ExecuteReader();
        var result = new List<string>();
        while (reader.Read()) result.Add(reader.GetString(0));
        return result;
    }

    public static async Task<SqliteTransaction> BeginWriteAsync(SqliteConnection c, CancellationToken ct) =>
        (SqliteTransaction)await c.BeginTransactionAsync(System.Data.IsolationLevel.Serializable, ct);

    public static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    public static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    /// <summary>The namespace of the repository named by the SQL expression <paramref name="name"/> ('' for a single-component name).</summary>
    public static string Namespace(string name) => $"CASE WHEN instr({name}, '/') > 0 THEN substr({name}, 1, instr({name}, '/') - 1) ELSE '' END";

    /// <summary>Creates the repository if it is new: it exists once something was pushed to it.</summary>
    public static Task EnsureRepository(SqliteConnection c, SqliteTransaction tx, string repository, long now, CancellationToken ct) =>
        Exec(c, tx, "INSERT INTO repositories (name, created) VALUES ($r, $t) ON CONFLICT DO NOTHING", ct, ("$r", repository), ("$t", now));

    /// <summary>Links the blob; linking again refreshes the link's time, from which garbage collection's grace window counts.</summary>
    public static Task Link(SqliteConnection c, SqliteTransaction tx, string repository, string digest, long now, CancellationToken ct) =>
        Exec(c, tx, "INSERT INTO repository_blobs (repository, digest, created) VALUES ($r, $d, $t) ON CONFLICT (repository, digest) DO UPDATE SET created = excluded.created", ct, ("$r", repository), ("$d", digest), ("$t", now));

    /// <summary>
    /// Writes <paramref name="e"/> (its id ignored) into the outbox, inside the transaction of the change it records; actor,
    /// request id and address default to the current request's (<see cref="RequestContext"/>).
    /// </summary>
    public static Task Event(SqliteConnection c, SqliteTransaction tx, Core.Metadata.RegistryEvent e, CancellationToken ct) =>
        Exec(c, tx, "INSERT INTO events (time, kind, repository, subject, digest, tag, detail, actor, request_id, address) VALUES ($t, $k, $r, $s, $d, $g, $x, $a, $q, $i)", ct,
            ("$t", Ms(e.Time)), ("$k", e.Kind), ("$r", e.Repository), ("$s", e.Subject), ("$d", e.Digest), ("$g", e.Tag), ("$x", e.Detail),
            ("$a", RequestContext.ActorOr(e.Actor)), ("$q", e.RequestId ?? RequestContext.Current?.RequestId), ("$i", e.Address ?? RequestContext.Current?.Address));

    /// <summary>
    /// Runs one statement in a write transaction and, when it changed a row, writes <paramref name="e"/> in the same
    /// transaction. Returns the number of rows changed.
    /// </summary>
    public static async Task<int> Recorded(SqliteDatabase db, Core.Metadata.RegistryEvent e, string sql, CancellationToken ct, params (string, object?)[] p)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var changed = await Exec(c, tx, sql, ct, p);
        if (changed == 0) return 0;
        await Event(c, tx, e, ct);
        await tx.CommitAsync(ct);
        return changed;
    }

    // The plain ADO.NET helpers below serve both dialects (SQLite and PostgreSQL): parameters are (name, value) pairs, null
    // sent as NULL.
    public static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    public static async Task<int> Exec(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] p)
    {
        await using var cmd = Command(c, tx, sql, p);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<object?> Scalar(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] p)
    {
        await using var cmd = Command(c, tx, sql, p);
        var v = await cmd.ExecuteScalarAsync(ct);
        return v is DBNull ? null : v;
    }

    public static async Task<List<string>> Strings(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] p)
    {
        await using var cmd = Command(c, tx, sql, p);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var result = new List<string>();
        while (await reader.ReadAsync(ct)) result.Add(reader.GetString(0));
        return result;
    }

    public static async Task<List<T>> Rows<T>(DbConnection c, DbTransaction? tx, string sql, Func<DbDataReader, T> map, CancellationToken ct, params (string, object?)[] p)
    {
        await using var cmd = Command(c, tx, sql, p);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var result = new List<T>();
        while (await reader.ReadAsync(ct)) result.Add(map(reader));
        return result;
    }

    public static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}
