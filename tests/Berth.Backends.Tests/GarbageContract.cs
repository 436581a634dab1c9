using Berth.Core;
using Berth.Core.Metadata;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IGarbageIndex"/> and <see cref="IBlobClaims"/> contract (docs/architecture.md, "Garbage collection").</summary>
public abstract class GarbageContract : StoreContract
{
    private static DateTimeOffset Later => DateTimeOffset.UtcNow.AddMinutes(10);

    private static DoomedBlob Doomed(Digest d, long size = 1) => new(d, size);

    [Fact]
    public async Task AClaimedDigestIsNotMarkedAndAMarkedOneRefusesClaimsUntilItsRowIsGone()
    {
        var orphan = D("orphan");
        Assert.True(await S.Claims.TryClaimAsync(orphan, "w1", Now, Ct));
        Assert.Empty(await S.Garbage.MarkDeletingAsync([Doomed(orphan)], Later, Now, Ct));
        await S.Claims.ReleaseClaimAsync(orphan, "w1", Ct);

        var marked = await S.Garbage.MarkDeletingAsync([Doomed(orphan, 42)], Later, Now, Ct);
        Assert.Equal([new DoomedBlob(orphan, 42)], marked);
        Assert.False(await S.Claims.TryClaimAsync(orphan, "w2", Now, Ct));
        Assert.Equal([orphan], (await S.Garbage.ListDeletingAsync(10, Ct)).Select(b => b.Digest));
        // Marked, so recorded: an orphan sweep does not take it twice.
        Assert.Empty(await S.Garbage.ListUnrecordedAsync([orphan], Ct));

        await S.Garbage.ForgetDeletedAsync([orphan], Ct);
        Assert.Empty(await S.Garbage.ListDeletingAsync(10, Ct));
        Assert.True(await S.Claims.TryClaimAsync(orphan, "w2", Now, Ct));
    }

    [Fact]
    public async Task OnlyBlobsNothingHoldsAreMarked()
    {
        var linked = await BlobAsync("team/app", "linked");
        var config = await BlobAsync("team/app", "config");
        var layer = await BlobAsync("team/app", "layer");
        var image = Image(config, layer);
        await S.Manifests.PutManifestAsync("team/app", image, "v1", Now, Ct);
        var loose = await BlobAsync("team/app", "loose");
        await S.Links.UnlinkBlobAsync("team/app", loose, Ct);
        await S.Links.UnlinkBlobAsync("team/app", layer, Ct);
        var committing = D("committing");
        await S.Uploads.CreateUploadAsync(new UploadSession("c0ffee00c0ffee00c0ffee00c0ffee00", "team/app", 1, Now, Now), Ct);
        await S.Uploads.MarkUploadCommittingAsync("c0ffee00c0ffee00c0ffee00c0ffee00", 1, committing, Ct);

        // layer: unlinked but referenced by the manifest; the manifest's own digest: a manifest row.
        var unreferenced = await S.Garbage.ListUnreferencedBlobsAsync(Later, null, 100, Ct);
        Assert.Equal([loose], unreferenced.Select(b => b.Digest));
        Assert.Empty(await S.Garbage.ListUnreferencedBlobsAsync(Now.AddMinutes(-10), null, 100, Ct));

        var marked = await S.Garbage.MarkDeletingAsync(
            [Doomed(linked), Doomed(config), Doomed(layer), Doomed(image.Digest), Doomed(committing), Doomed(loose)], Later, Now, Ct);
        Assert.Equal([loose], marked.Select(b => b.Digest));
        Assert.Equal("loose".Length, marked[0].Size);
        // Within the grace window a recorded blob stays, even when nothing holds it.
        var young = await BlobAsync("team/app", "young");
        await S.Links.UnlinkBlobAsync("team/app", young, Ct);
        Assert.Empty(await S.Garbage.MarkDeletingAsync([Doomed(young)], Now.AddMinutes(-10), Now, Ct));
        Assert.Equal([committing, D("nothing")], await S.Garbage.ListUnrecordedAsync([linked, committing, D("nothing"), loose], Ct));
    }

    [Fact]
    public async Task UntaggedManifestsGoUnlessAKeptIndexOrSubjectHoldsThem()
    {
        var config = await BlobAsync("team/app", "config");
        var layer = await BlobAsync("team/app", "layer");
        var tagged = Image(config, layer);
        var child = Image(layer, config);
        var loose = Image(config, config);
        await S.Manifests.PutManifestAsync("team/app", tagged, "v1", Now, Ct);
        await S.Manifests.PutManifestAsync("team/app", child, null, Now, Ct);
        await S.Manifests.PutManifestAsync("team/app", loose, null, Now, Ct);
        var index = Index(child.Digest);
        await S.Manifests.PutManifestAsync("team/app", index, "multi", Now, Ct);
        var referrer = Image(config, layer, subject: tagged.Digest, artifactType: "application/x-sig");
        await S.Manifests.PutManifestAsync("team/app", referrer, null, Now, Ct);

        var untagged = await S.Garbage.ListUntaggedManifestsAsync(Later, null, 100, Ct);
        Assert.Equal(new[] { child.Digest, loose.Digest, referrer.Digest }.Select(d => d.ToString()).Order(StringComparer.Ordinal),
            untagged.Select(m => m.Digest.ToString()).Order(StringComparer.Ordinal));
        Assert.False(await S.Garbage.DeleteUntaggedManifestAsync(new("team/app", child.Digest), Later, Ct));
        Assert.False(await S.Garbage.DeleteUntaggedManifestAsync(new("team/app", referrer.Digest), Later, Ct));
        Assert.False(await S.Garbage.DeleteUntaggedManifestAsync(new("team/app", loose.Digest), Now.AddMinutes(-10), Ct));
        Assert.False(await S.Garbage.DeleteUntaggedManifestAsync(new("team/app", tagged.Digest), Later, Ct));
        Assert.True(await S.Claims.TryClaimAsync(loose.Digest, "push", Now, Ct));
        Assert.False(await S.Garbage.DeleteUntaggedManifestAsync(new("team/app", loose.Digest), Later, Ct));
        await S.Claims.ReleaseClaimAsync(loose.Digest, "push", Ct);
        Assert.True(await S.Garbage.DeleteUntaggedManifestAsync(new("team/app", loose.Digest), Later, Ct));
        Assert.Null(await S.Manifests.GetManifestAsync("team/app", loose.Digest, Ct));

        // Once the index is untagged and gone, its child may go too; the referrer goes once its subject has.
        Assert.True(await S.Manifests.DeleteTagAsync("team/app", "multi", Ct));
        Assert.True(await S.Garbage.DeleteUntaggedManifestAsync(new("team/app", index.Digest), Later, Ct));
        Assert.True(await S.Garbage.DeleteUntaggedManifestAsync(new("team/app", child.Digest), Later, Ct));
        await S.Manifests.DeleteManifestAsync("team/app", tagged.Digest, Ct);
        Assert.True(await S.Garbage.DeleteUntaggedManifestAsync(new("team/app", referrer.Digest), Later, Ct));
        Assert.Empty(await S.Garbage.ListUntaggedManifestsAsync(Later, null, 100, Ct));
    }

    [Fact]
    public async Task LinksNoManifestOfTheRepositoryReferencesAreUnlinkedAfterTheGraceWindow()
    {
        var config = await BlobAsync("team/app", "config");
        var layer = await BlobAsync("team/app", "layer");
        var unused = await BlobAsync("team/app", "unused");
        await BlobAsync("other/app", "layer");
        await S.Manifests.PutManifestAsync("team/app", Image(config, layer), "v1", Now, Ct);

        Assert.Empty(await S.Garbage.ListStaleLinksAsync(Now.AddMinutes(-10), null, 100, Ct));
        var stale = await S.Garbage.ListStaleLinksAsync(Later, null, 100, Ct);
        Assert.Equal([new RepositoryDigest("other/app", layer), new RepositoryDigest("team/app", unused)], stale);
        Assert.Equal([new RepositoryDigest("team/app", unused)], await S.Garbage.ListStaleLinksAsync(Later, stale[0], 100, Ct));
        Assert.Equal(0, await S.Garbage.UnlinkStaleAsync(stale, Now.AddMinutes(-10), Ct));
        Assert.Equal(2, await S.Garbage.UnlinkStaleAsync([.. stale, new RepositoryDigest("team/app", layer)], Later, Ct));
        Assert.Null(await S.Links.GetLinkedBlobAsync("team/app", unused, Ct));
        Assert.NotNull(await S.Links.GetLinkedBlobAsync("team/app", layer, Ct));
        var kinds = new List<string>();
        foreach (var e in await S.Events.ReadAfterAsync(0, 1000, Ct)) kinds.Add(e.Kind);
        Assert.Equal(2, kinds.Count(k => k == EventKinds.BlobUnlink));
    }

    [Fact]
    public async Task TheLastReportIsKept()
    {
        Assert.Null(await S.Garbage.LastReportAsync(Ct));
        await S.Garbage.SaveReportAsync("""{"blobsRemoved":1}""", Now, Ct);
        await S.Garbage.SaveReportAsync("""{"blobsRemoved":2}""", Now, Ct);
        Assert.Equal("""{"blobsRemoved":2}""", await (await OpenAsync()).Garbage.LastReportAsync(Ct));
    }

    [Fact]
    public async Task StaleClaimsAreRemoved()
    {
        Assert.True(await S.Claims.TryClaimAsync(D("a"), "old", Now.AddHours(-2), Ct));
        Assert.True(await S.Claims.TryClaimAsync(D("a"), "new", Now, Ct));
        Assert.Equal(1, await S.Garbage.DeleteClaimsBeforeAsync(Now.AddHours(-1), Ct));
        Assert.Empty(await S.Garbage.MarkDeletingAsync([Doomed(D("a"))], Later, Now, Ct));
        await S.Claims.ReleaseClaimAsync(D("a"), "new", Ct);
        Assert.Single(await S.Garbage.MarkDeletingAsync([Doomed(D("a"))], Later, Now, Ct));
    }

    [Fact]
    public async Task ConcurrentClaimsAndMarksOfOneDigestNeverBothWin()
    {
        // Each round races a claim (from another opening: another node) against a mark of a fresh digest.
        var other = await OpenAsync();
        for (var i = 0; i < 60; i++)
        {
            var d = D("race" + i);
            var claim = Task.Run(() => other.Claims.TryClaimAsync(d, "w", Now, Ct));
            var mark = Task.Run(() => S.Garbage.MarkDeletingAsync([Doomed(d)], Later, Now, Ct));
            var (claimed, marked) = (await claim, (await mark).Count == 1);
            Assert.True(claimed != marked, $"round {i}: claimed {claimed}, marked {marked}");
        }
    }
}
