using Berth.Metadata;
using Npgsql;

namespace Berth.Backends.Tests;

/// <summary>What only the PostgreSQL backend promises: schema creation by many nodes at once, refusing a newer schema, notifications.</summary>
public sealed class PostgresDatabaseTests : IAsyncLifetime
{
    private readonly PostgresScratch _db = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var c = new NpgsqlConnection(await _db.ConnectionStringAsync());
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return await cmd.ExecuteScalarAsync();
    }

    [Fact]
    public async Task NodesOpeningAFreshDatabaseTogetherAllSucceedAndLeaveOneSchema()
    {
        await _db.ConnectionStringAsync();
        using var start = new ManualResetEventSlim();
        var opens = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await _db.OpenAsync();
        })).ToList();
        start.Set();
        var stores = await Task.WhenAll(opens);
        Assert.Equal(8, stores.Length);
        Assert.Equal("1,2", await ScalarAsync("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version"));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM pg_tables WHERE tablename = 'events'"));
        await stores[3].Uploads.CreateUploadAsync(new Core.Metadata.UploadSession("u1", "team/app", 0, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow), default);
        Assert.NotNull(await stores[5].Uploads.GetUploadAsync("u1", default));
    }

    [Fact]
    public async Task ADatabaseWithANewerSchemaIsRefused()
    {
        await _db.OpenAsync();
        await ScalarAsync("INSERT INTO schema_version (version, applied) VALUES (99, 0)");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => _db.OpenAsync());
        Assert.Equal("the database has schema version 99, newer than this Berth knows (2); upgrade Berth", e.Message);
    }

    [Fact]
    public async Task EveryEventIsNotifiedWithItsIdAtCommit()
    {
        var s = await _db.OpenAsync();
        await using var listener = new NpgsqlConnection(await _db.ConnectionStringAsync());
        await listener.OpenAsync();
        var received = new List<string>();
        listener.Notification += (_, n) => { lock (received) received.Add($"{n.Channel} {n.Payload}"); };
        await using (var listen = new NpgsqlCommand($"LISTEN {PostgresDatabase.EventsChannel}", listener)) await listen.ExecuteNonQueryAsync();

        await s.Accounts.CreateAccountAsync(new Core.Access.Account("alice", Core.Access.AccountKind.User, "hash", false, Core.Access.Visibility.Private, DateTimeOffset.UtcNow), default);
        Assert.False(await s.Accounts.CreateAccountAsync(new Core.Access.Account("alice", Core.Access.AccountKind.User, "hash", false, Core.Access.Visibility.Private, DateTimeOffset.UtcNow), default));
        var id = await s.Events.LastIdAsync(default);
        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(5)));
        while (await listener.WaitAsync(TimeSpan.FromMilliseconds(200))) { }
        lock (received) Assert.Equal([$"berth_events {id}"], received);
    }
}
