using Berth.Core.Metadata;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IUploadSessions"/> contract.</summary>
public abstract class UploadSessionsContract : StoreContract
{
    [Fact]
    public async Task OpeningTwiceIsHarmless()
    {
        await S.Uploads.CreateUploadAsync(new UploadSession("aaaa", "team/app", 0, Now, Now), Ct);
        var again = await OpenAsync();
        Assert.NotNull(await again.Uploads.GetUploadAsync("aaaa", Ct));
    }

    [Fact]
    public async Task UploadSessionsAreRecordedUpdatedAndExpired()
    {
        var old = Now.AddHours(-2);
        await S.Uploads.CreateUploadAsync(new UploadSession("aaaa", "team/app", 0, old, old), Ct);
        await S.Uploads.CreateUploadAsync(new UploadSession("bbbb", "team/app", 0, Now, Now), Ct);
        await S.Uploads.UpdateUploadAsync("bbbb", 42, Now, Ct);
        var b = await (await OpenAsync()).Uploads.GetUploadAsync("bbbb", Ct);
        Assert.Equal(42, b!.Size);
        Assert.Null(b.Committing);
        await S.Uploads.MarkUploadCommittingAsync("bbbb", 50, D("x"), Ct);
        var committing = (await S.Uploads.GetUploadAsync("bbbb", Ct))!;
        Assert.Equal((D("x"), 50L), (committing.Committing, committing.Size));

        var stale = await S.Uploads.ListUploadsUpdatedBeforeAsync(Now.AddHours(-1), Ct);
        Assert.Equal(["aaaa"], stale.Select(s => s.Id));
        await S.Uploads.DeleteUploadAsync("aaaa", Ct);
        Assert.Null(await S.Uploads.GetUploadAsync("aaaa", Ct));
    }

    [Fact]
    public async Task CompletingLinksTheBlobCreatesTheRepositoryAndEndsTheSession()
    {
        var session = new UploadSession("cccc", "team/new", 5, Now, Now);
        await S.Uploads.CreateUploadAsync(session, Ct);
        await S.Uploads.CompleteUploadAsync(session, D("layer"), Ct);
        Assert.Null(await S.Uploads.GetUploadAsync("cccc", Ct));
        Assert.Equal(5, await S.Links.GetLinkedBlobAsync("team/new", D("layer"), Ct));
        Assert.NotNull(await S.Repositories.GetAsync("team/new", Ct));
    }

    [Fact]
    public async Task AnUploadIsHeldByOneHolderAtATimeWhoCanStillUpdateIt()
    {
        await S.Uploads.CreateUploadAsync(new UploadSession("dddd", "team/app", 0, Now, Now), Ct);
        var first = await S.Uploads.LockUploadAsync("dddd", Ct);
        var second = S.Uploads.LockUploadAsync("dddd", Ct);
        var other = await S.Uploads.LockUploadAsync("eeee", Ct).WaitAsync(TimeSpan.FromSeconds(10));
        // The holder's own writes to the session do not wait for its hold.
        await S.Uploads.UpdateUploadAsync("dddd", 7, Now, Ct).WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        Assert.False(second.IsCompleted);
        await first.DisposeAsync();
        await using (await second.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            Assert.Equal(7, (await S.Uploads.GetUploadAsync("dddd", Ct))!.Size);
        }
        await other.DisposeAsync();
        // Released holds can be taken again; a cancelled wait leaves nothing held.
        var again = await S.Uploads.LockUploadAsync("dddd", Ct).WaitAsync(TimeSpan.FromSeconds(10));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => S.Uploads.LockUploadAsync("dddd", cancel.Token));
        await again.DisposeAsync();
        await (await S.Uploads.LockUploadAsync("dddd", Ct).WaitAsync(TimeSpan.FromSeconds(10))).DisposeAsync();
    }
}
