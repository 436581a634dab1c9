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
}
