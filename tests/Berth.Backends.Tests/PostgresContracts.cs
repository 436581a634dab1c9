using Berth.Metadata;
using Npgsql;

namespace Berth.Backends.Tests;

/// <summary>
/// A database of its own on the PostgreSQL server <c>BERTH_TEST_POSTGRES</c> names (an Npgsql connection string whose role
/// may create databases; <c>tests/servers/postgres.sh</c> starts a throwaway one, and test.sh does that itself), created
/// on first use under a unique name and dropped when disposed. Without the variable every Postgres test fails saying so.
/// </summary>
public sealed class PostgresScratch : IAsyncDisposable
{
    private readonly List<PostgresDatabase> _opened = [];
    private string? _connectionString;

    public string Name { get; } = "berth_test_" + Guid.NewGuid().ToString("N");

    public static string Server => Environment.GetEnvironmentVariable("BERTH_TEST_POSTGRES") is { Length: > 0 } s ? s
        : throw new InvalidOperationException(
            "BERTH_TEST_POSTGRES is not set: the PostgreSQL tests need a server. Start a throwaway one with " +
            "`eval \"$(tests/servers/postgres.sh start)\"` (stop it with `tests/servers/postgres.sh stop`), or run ./test.sh, which does both.");

    /// <summary>The connection string of this scratch database, creating it the first time.</summary>
    public async Task<string> ConnectionStringAsync()
    {
        if (_connectionString is null)
        {
            await using (var c = new NpgsqlConnection(Server))
            {
                await c.OpenAsync();
                await using var cmd = new NpgsqlCommand($"CREATE DATABASE {Name}", c);
                await cmd.ExecuteNonQueryAsync();
            }
            _connectionString = new NpgsqlConnectionStringBuilder(Server) { Database = Name }.ConnectionString;
        }
        return _connectionString;
    }

    /// <summary>The stores over this database, opened again (a new data source: as another node would).</summary>
    public async Task<Stores> OpenAsync(TimeProvider? time = null)
    {
        var db = await PostgresDatabase.OpenAsync(await ConnectionStringAsync(), time ?? TimeProvider.System, CancellationToken.None);
        lock (_opened) _opened.Add(db);
        return new Stores(new PostgresUploadSessions(db), new PostgresBlobLinks(db), new PostgresManifestIndex(db), new PostgresRepositories(db),
            new PostgresAccounts(db), new PostgresTokens(db), new PostgresAuditLog(db), new PostgresEventLog(db),
            new PostgresLimitCounters(db), new PostgresSharedSecrets(db), new PostgresJobLocks(db))
        {
            Policies = new PostgresPolicies(db), TagStatistics = new PostgresTagStatistics(db), Integrity = new PostgresIntegrity(db), Garbage = new PostgresGarbage(db), Claims = new PostgresGarbage(db),
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var db in _opened) await db.DisposeAsync();
        if (_connectionString is null) return;
        await using var c = new NpgsqlConnection(Server);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", c);
        await cmd.ExecuteNonQueryAsync();
    }
}

public sealed class PostgresUploadSessionsTests : UploadSessionsContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresBlobLinksTests : BlobLinksContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresManifestIndexTests : ManifestIndexContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresRepositoriesTests : RepositoriesContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresAccountsTests : AccountsContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresTokensTests : TokensContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresEventLogTests : EventLogContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresAuditLogTests : AuditLogContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresLimitCountersTests : LimitCountersContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresSharedSecretsTests : SharedSecretsContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresJobLocksTests : JobLocksContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresPoliciesTests : PoliciesContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

public sealed class PostgresGarbageTests : GarbageContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}
