using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IEventLog"/> contract: every change writes its event with the change, and only then.</summary>
public abstract class EventLogContract : StoreContract
{
    private async Task<IReadOnlyList<RegistryEvent>> AfterAsync(long id) => await S.Events.ReadAfterAsync(id, 1000, Ct);

    /// <summary>Runs <paramref name="change"/> and returns the events it wrote.</summary>
    private async Task<IReadOnlyList<RegistryEvent>> EventsOfAsync(Func<Task> change)
    {
        var last = await S.Events.LastIdAsync(Ct);
        await change();
        return await AfterAsync(last);
    }

    [Fact]
    public async Task EachRepositoryChangeWritesItsEvent()
    {
        var config = D("config");
        var upload = await EventsOfAsync(() => BlobAsync("team/app", "config"));
        Assert.Equal((EventKinds.BlobUpload, "team/app", config.ToString()), (upload.Single().Kind, upload[0].Repository, upload[0].Digest));

        var one = Image(config, config);
        var two = Image(config, await BlobAsync("team/app", "layer"));
        var put = await EventsOfAsync(() => S.Manifests.PutManifestAsync("team/app", one, "prod", Now, Ct));
        Assert.Equal((EventKinds.ManifestPut, "team/app", one.Digest.ToString(), "prod"), (put.Single().Kind, put[0].Repository, put[0].Digest, put[0].Tag));

        var move = await EventsOfAsync(() => S.Manifests.PutManifestAsync("team/app", two, "prod", Now, Ct));
        Assert.Equal([EventKinds.TagMove, EventKinds.ManifestPut], move.Select(e => e.Kind));
        Assert.Equal(("prod", two.Digest.ToString(), one.Digest.ToString()), (move[0].Tag, move[0].Digest, move[0].Detail));

        var untagged = await EventsOfAsync(() => S.Manifests.PutManifestAsync("team/app", one, null, Now, Ct));
        Assert.Null(untagged.Single().Tag);

        var tagDelete = await EventsOfAsync(() => S.Manifests.DeleteTagAsync("team/app", "prod", Ct));
        Assert.Equal((EventKinds.TagDelete, "prod", two.Digest.ToString()), (tagDelete.Single().Kind, tagDelete[0].Tag, tagDelete[0].Digest));

        var manifestDelete = await EventsOfAsync(() => S.Manifests.DeleteManifestAsync("team/app", one.Digest, Ct));
        Assert.Equal((EventKinds.ManifestDelete, one.Digest.ToString()), (manifestDelete.Single().Kind, manifestDelete[0].Digest));

        var mount = await EventsOfAsync(() => S.Links.MountBlobAsync("team/other", config, "team/app", Ct));
        Assert.Equal((EventKinds.BlobMount, "team/other"), (mount.Single().Kind, mount[0].Repository));

        var unlink = await EventsOfAsync(() => S.Links.UnlinkBlobAsync("team/other", config, Ct));
        Assert.Equal((EventKinds.BlobUnlink, "team/other", config.ToString()), (unlink.Single().Kind, unlink[0].Repository, unlink[0].Digest));

        var visibility = await EventsOfAsync(() => S.Repositories.SetVisibilityAsync("team/app", Visibility.Public, Now, Ct));
        Assert.Equal((EventKinds.VisibilityChange, "team/app", "public"), (visibility.Single().Kind, visibility[0].Repository, visibility[0].Detail));
    }

    [Fact]
    public async Task EachAccountAndPermissionChangeWritesItsEvent()
    {
        async Task Expect(string kind, string subject, Func<Task> change)
        {
            var events = await EventsOfAsync(change);
            Assert.Equal((kind, subject), (Assert.Single(events).Kind, events[0].Subject));
        }

        await Expect(EventKinds.AccountChange, "alice", () => AccountAsync("alice"));
        await Expect(EventKinds.AccountChange, "acme", () => AccountAsync("acme", AccountKind.Organization));
        await Expect(EventKinds.AccountChange, "bob", () => S.Accounts.UpsertUserAsync("bob", "hash", false, Now, Ct));
        await Expect(EventKinds.AccountChange, "bob", () => S.Accounts.SetAdminAsync("bob", true, Ct));
        await Expect(EventKinds.AccountChange, "bob", () => S.Accounts.SetPasswordAsync("bob", "hash2", Ct));
        await Expect(EventKinds.AccountChange, "acme", () => S.Accounts.SetMemberAsync("acme", "alice", false, Ct));
        await Expect(EventKinds.AccountChange, "acme/dev", () => S.Accounts.CreateTeamAsync("acme", "dev", Now, Ct));
        await Expect(EventKinds.AccountChange, "acme/dev", () => S.Accounts.AddTeamMemberAsync("acme", "dev", "alice", Ct));
        await Expect(EventKinds.AccountChange, "acme/dev", () => S.Accounts.RemoveTeamMemberAsync("acme", "dev", "alice", Ct));
        await Expect(EventKinds.AccountChange, "acme/dev", () => S.Accounts.DeleteTeamAsync("acme", "dev", Ct));
        await Expect(EventKinds.AccountChange, "acme", () => S.Accounts.RemoveMemberAsync("acme", "alice", Ct));
        await Expect(EventKinds.GrantChange, "user:alice", () => S.Accounts.SetGrantAsync(new Grant("acme/app", false, "user:alice", Role.Write), Now, Ct));
        await Expect(EventKinds.GrantChange, "user:alice", () => S.Accounts.SetGrantAsync(new Grant("acme/app", false, "user:alice", Role.None), Now, Ct));
        await Expect(EventKinds.VisibilityChange, "acme", () => S.Repositories.SetNamespaceVisibilityAsync("acme", Visibility.Public, Now, Ct));
        var token = new AccessToken("t1", "alice", "ci", "hash", [], Now, null, null);
        await Expect(EventKinds.TokenChange, "alice", () => S.Tokens.CreateTokenAsync(token, Ct));
        await Expect(EventKinds.TokenChange, "alice", () => S.Tokens.RevokeTokenAsync("t1", Now, Ct));
        await Expect(EventKinds.AccountChange, "bob", () => S.Accounts.DeleteAccountAsync("bob", Now, Ct));

        var grant = (await AfterAsync(0)).First(e => e.Kind == EventKinds.GrantChange);
        Assert.Equal("acme/app", grant.Repository);
    }

    [Fact]
    public async Task ChangesThatChangeNothingWriteNoEvent()
    {
        var config = await BlobAsync("team/app", "config");
        await AccountAsync("alice");
        var missingLayer = Image(config, D("never uploaded"));
        var none = await EventsOfAsync(async () =>
        {
            var e = await Assert.ThrowsAsync<RegistryException>(() => S.Manifests.PutManifestAsync("team/app", missingLayer, "1.0", Now, Ct));
            Assert.Equal(ErrorCode.ManifestBlobUnknown, e.Code);
            Assert.False(await S.Manifests.DeleteTagAsync("team/app", "1.0", Ct));
            Assert.False(await S.Manifests.DeleteManifestAsync("team/app", missingLayer.Digest, Ct));
            Assert.False(await S.Links.UnlinkBlobAsync("team/app", D("never uploaded"), Ct));
            Assert.Null(await S.Links.MountBlobAsync("team/other", D("never uploaded"), "team/app", Ct));
            Assert.False(await CreateUserAsync("alice"));
            Assert.False(await S.Tokens.RevokeTokenAsync("missing", Now, Ct));
            Assert.False(await S.Accounts.DeleteAccountAsync("nobody", Now, Ct));
        });
        Assert.Empty(none);
    }

    private Task<bool> CreateUserAsync(string name) =>
        S.Accounts.CreateAccountAsync(new Account(name, AccountKind.User, "hash", false, Visibility.Private, Now), Ct);

    [Fact]
    public async Task ACursorReadsEveryEventOnceInIdOrder()
    {
        Assert.Equal(0, await S.Events.LastIdAsync(Ct));
        Assert.Empty(await AfterAsync(0));
        for (var i = 0; i < 7; i++) await BlobAsync("team/app", $"blob {i}");

        var seen = new List<RegistryEvent>();
        long cursor = 0;
        while (await S.Events.ReadAfterAsync(cursor, 3, Ct) is { Count: > 0 } page)
        {
            Assert.True(page.Count <= 3);
            seen.AddRange(page);
            cursor = page[^1].Id;
        }
        Assert.Equal(7, seen.Count);
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.Id < p.Second.Id));
        Assert.Equal(seen[^1].Id, await S.Events.LastIdAsync(Ct));
        Assert.All(seen, e => Assert.Null(e.Actor));

        // A reader that did not record its cursor reads the same events again (at least once, never skipped).
        Assert.Equal(seen.Select(e => e.Id), (await AfterAsync(0)).Select(e => e.Id));

        // Another opening of the same state continues the same sequence.
        S = await OpenAsync();
        await BlobAsync("team/app", "after reopening");
        Assert.True((await AfterAsync(cursor)).Single().Id > cursor);
    }

    [Fact]
    public async Task PruningKeepsIdsGoingUp()
    {
        await BlobAsync("team/app", "one");
        await BlobAsync("team/app", "two");
        var last = await S.Events.LastIdAsync(Ct);
        Assert.Equal(0, await S.Events.PruneBeforeAsync(DateTimeOffset.UtcNow.AddHours(-1), Ct));
        Assert.Equal(2, await S.Events.PruneBeforeAsync(DateTimeOffset.UtcNow.AddHours(1), Ct));
        Assert.Empty(await AfterAsync(0));
        Assert.Equal(last, await S.Events.LastIdAsync(Ct));
        await BlobAsync("team/app", "three");
        Assert.True((await AfterAsync(0)).Single().Id > last);
    }

    [Fact]
    public async Task AReaderFollowingConcurrentWritersMissesNoEvent()
    {
        // Ids must become visible in id order: a reader that saw id N and then asks after N would skip forever an id
        // below N that committed later (a database sequence alone gives that race).
        var writing = Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++) await BlobAsync($"team/app{w}", $"blob {w} {i}");
        })));
        var seen = new List<long>();
        long cursor = 0;
        while (true)
        {
            var done = writing.IsCompleted;
            var page = await S.Events.ReadAfterAsync(cursor, 1000, Ct);
            seen.AddRange(page.Select(e => e.Id));
            if (page.Count > 0) cursor = page[^1].Id;
            if (done && page.Count == 0) break;
        }
        await writing;
        Assert.Equal(100, seen.Count);
        Assert.Equal((await AfterAsync(0)).Select(e => e.Id), seen);
    }

    [Fact]
    public async Task WaitingEndsByTheDeadlineAtTheLatest()
    {
        var cursor = await S.Events.LastIdAsync(Ct);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await S.Events.WaitAsync(cursor, TimeSpan.FromMilliseconds(300), Ct).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => S.Events.WaitAsync(cursor, TimeSpan.FromMinutes(5), cancel.Token));
    }
}
