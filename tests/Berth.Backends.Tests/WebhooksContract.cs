using Berth.Core.Metadata;
using Berth.Core.Observability;
using Berth.Metadata;

namespace Berth.Backends.Tests;

/// <summary>
/// The <see cref="IWebhooks"/> and <see cref="IRegistryStats"/> contracts, and the request context the stores copy onto
/// events (actor, request id, address). A backend opens these two stores on the state of <see cref="StoreContract.S"/>.
/// </summary>
public abstract class WebhooksContract : StoreContract
{
    protected IWebhooks Hooks = null!;
    protected IRegistryStats Stats = null!;

    private static Webhook Hook(string? ns, params string[] events) =>
        new(0, ns, "http://127.0.0.1:9/hook", "0123456789abcdef0123", events, ns is null ? "" : ns + "/**", Now);

    [Fact]
    public async Task HooksAreCreatedListedByNamespaceAndDeleted()
    {
        var site = await Hooks.CreateAsync(Hook(null, "push", "delete"), Ct);
        var team = await Hooks.CreateAsync(Hook("team", "pull"), Ct);
        Assert.NotEqual(site.Id, team.Id);

        var read = await Hooks.GetAsync(team.Id, Ct);
        Assert.NotNull(read);
        Assert.Equal(("team", "http://127.0.0.1:9/hook", "0123456789abcdef0123", "team/**"), (read.Namespace, read.Url, read.Secret, read.Repositories));
        Assert.Equal(["pull"], read.Events);
        Assert.Equal(Now.ToUnixTimeMilliseconds(), read.Created.ToUnixTimeMilliseconds());
        Assert.Equal(["push", "delete"], (await Hooks.GetAsync(site.Id, Ct))!.Events);

        Assert.Equal([site.Id, team.Id], (await Hooks.ListAsync(null, Ct)).Select(h => h.Id));
        Assert.Equal([team.Id], (await Hooks.ListAsync("team", Ct)).Select(h => h.Id));
        Assert.Empty(await Hooks.ListAsync("other", Ct));

        Assert.True(await Hooks.DeleteAsync(team.Id, Ct));
        Assert.False(await Hooks.DeleteAsync(team.Id, Ct));
        Assert.Null(await Hooks.GetAsync(team.Id, Ct));
        var again = await Hooks.CreateAsync(Hook("team", "pull"), Ct);
        Assert.True(again.Id > team.Id, "ids are never reused");
        Assert.False((await Hooks.GetAsync(again.Id, Ct))!.Configured);
        var configured = await Hooks.CreateAsync(Hook(null, "push") with { Configured = true }, Ct);
        Assert.True((await Hooks.GetAsync(configured.Id, Ct))!.Configured);
    }

    [Fact]
    public async Task EnqueueKeepsOneDeliveryPerHookAndEventAndMovesTheCursor()
    {
        var hook = await Hooks.CreateAsync(Hook(null, "push"), Ct);
        Assert.Null(await Hooks.CursorAsync(Ct));
        await Hooks.EnqueueAsync([new NewDelivery(hook.Id, 4, EventKinds.ManifestPut, "{\"a\":4}"), new NewDelivery(hook.Id, 5, EventKinds.TagMove, "{\"a\":5}")], 5, Now, Ct);
        Assert.Equal(5, await Hooks.CursorAsync(Ct));
        // Read again after a crash before the cursor was kept: the same events, no second delivery, the first payload kept.
        await Hooks.EnqueueAsync([new NewDelivery(hook.Id, 5, EventKinds.TagMove, "{\"other\":1}"), new NewDelivery(hook.Id, 7, EventKinds.ManifestPut, "{\"a\":7}")], 7, Now, Ct);
        Assert.Equal(7, await Hooks.CursorAsync(Ct));
        await Hooks.EnqueueAsync([], 9, Now, Ct);
        Assert.Equal(9, await Hooks.CursorAsync(Ct));

        var due = await Hooks.DueAsync(Now, 10, Ct);
        Assert.Equal([4L, 5L, 7L], due.Select(d => d.Event));
        Assert.Equal("{\"a\":5}", due[1].Payload);
        Assert.All(due, d => Assert.Equal((DeliveryStates.Pending, 0), (d.State, d.Attempts)));
        Assert.Empty(await Hooks.DueAsync(Now.AddSeconds(-1), 10, Ct));
        Assert.Single(await Hooks.DueAsync(Now, 1, Ct));

        // A failed attempt is due again only at its next time; a delivered one never.
        await Hooks.RecordAttemptAsync(due[0].Id, DeliveryStates.Pending, 503, "the receiver answered 503", Now.AddSeconds(30), Now, Ct);
        await Hooks.RecordAttemptAsync(due[1].Id, DeliveryStates.Delivered, 200, null, null, Now, Ct);
        Assert.Equal([7L], (await Hooks.DueAsync(Now, 10, Ct)).Select(d => d.Event));
        Assert.Equal([7L, 4L], (await Hooks.DueAsync(Now.AddSeconds(30), 10, Ct)).Select(d => d.Event));
        await Hooks.RecordAttemptAsync(due[0].Id, DeliveryStates.Failed, null, "connection refused", null, Now.AddSeconds(31), Ct);

        var log = await Hooks.ListDeliveriesAsync(hook.Id, 10, Ct);
        Assert.Equal([7L, 5L, 4L], log.Select(d => d.Event));
        var failed = log[2];
        Assert.Equal((DeliveryStates.Failed, 2, (int?)null, "connection refused", (DateTimeOffset?)null), (failed.State, failed.Attempts, failed.LastStatus, failed.LastError, failed.NextAttempt));
        Assert.Equal((DeliveryStates.Delivered, 1, (int?)200), (log[1].State, log[1].Attempts, log[1].LastStatus));
        Assert.Equal(2, (await Hooks.ListDeliveriesAsync(hook.Id, 2, Ct)).Count);
    }

    [Fact]
    public async Task DeletingAHookDeletesItsDeliveriesAndPruningKeepsPendingOnes()
    {
        var one = await Hooks.CreateAsync(Hook(null, "push"), Ct);
        var two = await Hooks.CreateAsync(Hook(null, "push"), Ct);
        await Hooks.EnqueueAsync([new NewDelivery(one.Id, 1, EventKinds.ManifestPut, "{}"), new NewDelivery(two.Id, 1, EventKinds.ManifestPut, "{}"),
            new NewDelivery(two.Id, 2, EventKinds.ManifestPut, "{}")], 2, Now, Ct);
        Assert.True(await Hooks.DeleteAsync(one.Id, Ct));
        Assert.Empty(await Hooks.ListDeliveriesAsync(one.Id, 10, Ct));
        Assert.Equal([2L, 1L], (await Hooks.ListDeliveriesAsync(two.Id, 10, Ct)).Select(d => d.Event));
        Assert.All(await Hooks.DueAsync(Now, 10, Ct), d => Assert.Equal(two.Id, d.Hook));

        var log = await Hooks.ListDeliveriesAsync(two.Id, 10, Ct);
        await Hooks.RecordAttemptAsync(log[1].Id, DeliveryStates.Delivered, 204, null, null, Now.AddDays(-8), Ct);
        Assert.Equal(1, await Hooks.PruneDeliveriesAsync(Now.AddDays(-7), Ct));
        Assert.Equal([2L], (await Hooks.ListDeliveriesAsync(two.Id, 10, Ct)).Select(d => d.Event));
        Assert.Equal(0, await Hooks.PruneDeliveriesAsync(Now.AddDays(1), Ct));
    }

    [Fact]
    public async Task BlobTotalsCountEachDigestOnce()
    {
        Assert.Equal(new BlobTotals(0, 0), await Stats.BlobTotalsAsync(Ct));
        await BlobAsync("team/app", "four");
        await BlobAsync("team/app", "seven!!");
        await BlobAsync("team/other", "four");
        Assert.Equal(new BlobTotals(2, 11), await Stats.BlobTotalsAsync(Ct));
    }

    [Fact]
    public async Task EventsCarryTheActorRequestAndAddressOfTheRequestThatMadeThem()
    {
        var last = await S.Events.LastIdAsync(Ct);
        await Task.Run(async () =>
        {
            RequestContext.Current = new RequestContext("req-1", "PUT", "/v2/team/app/blobs/uploads/x") { Actor = "alice", Address = "10.0.0.7" };
            await BlobAsync("team/app", "by alice");
        });
        await BlobAsync("team/app", "by nobody");
        var events = await S.Events.ReadAfterAsync(last, 10, Ct);
        Assert.Equal(2, events.Count);
        Assert.Equal(("alice", "req-1", "10.0.0.7"), (events[0].Actor, events[0].RequestId, events[0].Address));
        Assert.Equal(((string?)null, (string?)null, (string?)null), (events[1].Actor, events[1].RequestId, events[1].Address));
    }
}

public sealed class SqliteWebhooksTests : WebhooksContract
{
    protected override async Task<Stores> OpenAsync()
    {
        var stores = await Sqlite.OpenAsync(Temp);
        var db = await SqliteDatabase.OpenAsync(Path.Combine(Temp.Path, "berth.db"), TimeProvider.System, Ct);
        (Hooks, Stats) = (new SqliteWebhooks(db), new SqliteRegistryStats(db));
        return stores;
    }
}

public sealed class PostgresWebhooksTests : WebhooksContract
{
    private readonly PostgresScratch _db = new();
    private PostgresDatabase? _own;

    protected override async Task<Stores> OpenAsync()
    {
        var stores = await _db.OpenAsync();
        _own = await PostgresDatabase.OpenAsync(await _db.ConnectionStringAsync(), TimeProvider.System, Ct);
        (Hooks, Stats) = (new PostgresWebhooks(_own), new PostgresRegistryStats(_own));
        return stores;
    }

    public override async Task DisposeAsync()
    {
        if (_own is not null) await _own.DisposeAsync();
        await _db.DisposeAsync();
    }
}
