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
        // Each step once: versions 1..N with no repeat.
        Assert.Equal(true, await ScalarAsync("SELECT count(*) = max(version) AND count(DISTINCT version) = count(*) AND min(version) = 1 FROM schema_version"));
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
        Assert.Matches(@"^the database has schema version 99, newer than this Berth knows \(\d+\); upgrade Berth$", e.Message);
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

    [Fact]
    public async Task AWaiterOnOneNodeWakesWhenAnotherNodeWritesAnEvent()
    {
        var reader = await _db.OpenAsync();
        var writer = await _db.OpenAsync();
        var cursor = await reader.Events.LastIdAsync(default);
        // The first wait starts this node's listener; once it has returned, the LISTEN is in place.
        await reader.Events.WaitAsync(cursor, TimeSpan.FromSeconds(30), default).WaitAsync(TimeSpan.FromSeconds(10));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var waiting = reader.Events.WaitAsync(cursor, TimeSpan.FromSeconds(30), default);
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);
        await writer.Accounts.CreateAccountAsync(new Core.Access.Account("alice", Core.Access.AccountKind.User, "hash", false, Core.Access.Visibility.Private, DateTimeOffset.UtcNow), default);
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
        // A cursor behind the newest notified event does not wait at all.
        await reader.Events.WaitAsync(cursor, TimeSpan.FromMinutes(5), default).WaitAsync(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task AnUploadHeldOnOneNodeWaitsOnAnotherUntilReleasedOrTheHolderDies()
    {
        var one = await _db.OpenAsync();
        var two = await _db.OpenAsync();
        var held = await one.Uploads.LockUploadAsync("u1", default);
        var waiting = two.Uploads.LockUploadAsync("u1", default);
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);
        await held.DisposeAsync();
        var second = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        // The holder's connection dies (its process was killed): the server lets go.
        var third = one.Uploads.LockUploadAsync("u1", default);
        await Task.Delay(300);
        Assert.False(third.IsCompleted);
        Assert.Equal(true, await ScalarAsync($"""
            SELECT bool_and(pg_terminate_backend(l.pid)) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND a.datname = '{_db.Name}'
            """));
        await (await third.WaitAsync(TimeSpan.FromSeconds(10))).DisposeAsync();
        await second.DisposeAsync(); // its connection is gone: releasing it again is harmless
    }
}
