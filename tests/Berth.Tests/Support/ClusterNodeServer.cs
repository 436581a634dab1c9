using Berth.Configuration;
using Npgsql;

namespace Berth.Tests.Support;

/// <summary>
/// A PostgreSQL database of its own on the server BERTH_TEST_POSTGRES names (tests/servers/postgres.sh), dropped after
/// use. Without that server it fails, naming the script: never skipped.
/// </summary>
public sealed class ScratchDatabase : IAsyncDisposable
{
    private readonly string _server;

    public string Name { get; } = "berth_e2e_" + Guid.NewGuid().ToString("N")[..16];

    public string ConnectionString => new NpgsqlConnectionStringBuilder(_server) { Database = Name }.ConnectionString;

    private ScratchDatabase(string server) => _server = server;

    public static async Task<ScratchDatabase> CreateAsync()
    {
        var server = Environment.GetEnvironmentVariable("BERTH_TEST_POSTGRES");
        if (string.IsNullOrEmpty(server))
        {
            throw new InvalidOperationException("BERTH_TEST_POSTGRES is not set, so there is no PostgreSQL to test against: start one with " +
                "eval \"$(bash tests/servers/postgres.sh start)\" (and tests/servers/postgres.sh stop afterwards), or run ./test.sh, which does both");
        }
        var db = new ScratchDatabase(server);
        await db.ExecAsync($"CREATE DATABASE {db.Name}");
        return db;
    }

    private async Task ExecAsync(string sql)
    {
        await using var c = new NpgsqlConnection(_server);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }
}

/// <summary>The server as a node of a cluster: metadata in a scratch PostgreSQL database, blobs in a bucket of its own on S3.</summary>
public class ClusterNodeServer : S3RegistryServer
{
    private ScratchDatabase? _database;

    public ScratchDatabase Database => _database ?? throw new InvalidOperationException("not started");

    public override async Task InitializeAsync()
    {
        _database = await ScratchDatabase.CreateAsync();
        await base.InitializeAsync();
    }

    protected override BerthOptions Configure(BerthOptions options)
    {
        var s3 = base.Configure(options);
        return s3 with
        {
            Metadata = s3.Metadata with
            {
                Type = MetadataOptions.PostgresType,
                Postgres = s3.Metadata.Postgres with { ConnectionString = Database.ConnectionString },
            },
        };
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null) await _database.DisposeAsync();
    }
}
