using Berth.Core;
using Berth.Core.Metadata;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IManifestIndex"/> contract.</summary>
public abstract class ManifestIndexContract : StoreContract
{
    [Fact]
    public async Task AManifestNeedsItsBlobsAndChildrenInTheRepository()
    {
        var config = await BlobAsync("team/app", "config");
        var layer = await BlobAsync("other/repo", "layer");
        var image = Image(config, layer);
        var e = await Assert.ThrowsAsync<RegistryException>(() => S.Manifests.PutManifestAsync("team/app", image, "1.0", Now, Ct));
        Assert.Equal(ErrorCode.ManifestBlobUnknown, e.Code);
        Assert.Null(await S.Manifests.ResolveTagAsync("team/app", "1.0", Ct));
        Assert.Null(await S.Manifests.GetManifestAsync("team/app", image.Digest, Ct));

        var index = Index(image.Digest);
        Assert.Equal(ErrorCode.ManifestBlobUnknown, (await Assert.ThrowsAsync<RegistryException>(() => S.Manifests.PutManifestAsync("team/app", index, "multi", Now, Ct))).Code);

        await S.Links.MountBlobAsync("team/app", layer, "other/repo", Ct);
        await S.Manifests.PutManifestAsync("team/app", image, "1.0", Now, Ct);
        await S.Manifests.PutManifestAsync("team/app", index, "multi", Now, Ct);
        Assert.Equal(image.Digest, (await S.Manifests.ResolveTagAsync("team/app", "1.0", Ct))!.Digest);
        Assert.Equal(MediaTypes.OciIndex, (await S.Manifests.ResolveTagAsync("team/app", "multi", Ct))!.MediaType);
    }

    [Fact]
    public async Task TagsMoveAndDeleteIndependentlyOfManifests()
    {
        var config = await BlobAsync("team/app", "cfg");
        var one = Image(config, await BlobAsync("team/app", "l1"));
        var two = Image(config, await BlobAsync("team/app", "l2"));
        await S.Manifests.PutManifestAsync("team/app", one, "prod", Now, Ct);
        await S.Manifests.PutManifestAsync("team/app", one, "1.0", Now, Ct);
        await S.Manifests.PutManifestAsync("team/app", two, "prod", Now, Ct);
        Assert.Equal(two.Digest, (await S.Manifests.ResolveTagAsync("team/app", "prod", Ct))!.Digest);

        Assert.True(await S.Manifests.DeleteTagAsync("team/app", "prod", Ct));
        Assert.False(await S.Manifests.DeleteTagAsync("team/app", "prod", Ct));
        Assert.NotNull(await S.Manifests.GetManifestAsync("team/app", two.Digest, Ct));

        Assert.True(await S.Manifests.DeleteManifestAsync("team/app", one.Digest, Ct));
        Assert.Null(await S.Manifests.ResolveTagAsync("team/app", "1.0", Ct));
        Assert.False(await S.Manifests.DeleteManifestAsync("team/app", one.Digest, Ct));
    }

    [Fact]
    public async Task TagsArePagedInLexicalOrder()
    {
        var config = await BlobAsync("team/app", "c");
        var image = Image(config, config);
        foreach (var tag in new[] { "b", "a", "c", "1.0" }) await S.Manifests.PutManifestAsync("team/app", image, tag, Now, Ct);
        Assert.Equal(["1.0", "a", "b", "c"], await S.Manifests.ListTagsAsync("team/app", null, 100, Ct));
        Assert.Equal(["1.0", "a"], await S.Manifests.ListTagsAsync("team/app", null, 2, Ct));
        Assert.Equal(["b", "c"], await S.Manifests.ListTagsAsync("team/app", "a", 2, Ct));
        Assert.Null(await S.Manifests.ListTagsAsync("team/none", null, 10, Ct));

    }

    [Fact]
    public async Task TagInfoGivesEachTagsDigestAndTheTimeItWasLastPushed()
    {
        var config = await BlobAsync("team/app", "c");
        var one = Image(config, await BlobAsync("team/app", "l1"));
        var two = Image(config, await BlobAsync("team/app", "l2"));
        var first = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
        await S.Manifests.PutManifestAsync("team/app", one, "b", first, Ct);
        await S.Manifests.PutManifestAsync("team/app", one, "a", first, Ct);
        await S.Manifests.PutManifestAsync("team/app", two, "b", first.AddHours(1), Ct);
        await S.Manifests.PutManifestAsync("team/app", one, "c", first.AddHours(2), Ct);

        var all = await S.Manifests.ListTagInfoAsync("team/app", null, 10, Ct);
        Assert.Equal([new TagInfo("a", one.Digest, first), new TagInfo("b", two.Digest, first.AddHours(1)), new TagInfo("c", one.Digest, first.AddHours(2))], all);
        Assert.Equal(["c"], (await S.Manifests.ListTagInfoAsync("team/app", "b", 10, Ct))!.Select(t => t.Name));
        Assert.Equal(["a"], (await S.Manifests.ListTagInfoAsync("team/app", null, 1, Ct))!.Select(t => t.Name));
        Assert.Null(await S.Manifests.ListTagInfoAsync("team/none", null, 10, Ct));
    }

    [Fact]
    public async Task ReferrersAreFoundBySubjectAndFilteredByArtifactType()
    {
        var config = await BlobAsync("team/app", "config");
        var subject = Image(config, config);
        await S.Manifests.PutManifestAsync("team/app", subject, "1.0", Now, Ct);
        var sbom = Image(config, await BlobAsync("team/app", "sbom"), subject.Digest, "application/vnd.example.sbom");
        var sig = Image(config, await BlobAsync("team/app", "sig"), subject.Digest, "application/vnd.example.sig");
        await S.Manifests.PutManifestAsync("team/app", sbom, null, Now, Ct);
        await S.Manifests.PutManifestAsync("team/app", sig, null, Now, Ct);

        var all = await S.Manifests.ListReferrersAsync("team/app", subject.Digest, null, Ct);
        Assert.Equal(2, all.Count);
        var filtered = Assert.Single(await S.Manifests.ListReferrersAsync("team/app", subject.Digest, "application/vnd.example.sig", Ct));
        Assert.Equal(sig.Digest, filtered.Digest);
        Assert.Empty(await S.Manifests.ListReferrersAsync("team/other", subject.Digest, null, Ct));
    }

    [Fact]
    public async Task UnreferencedBlobsAreThoseNothingHolds()
    {
        var config = await BlobAsync("team/app", "config");
        var layer = await BlobAsync("team/app", "layer");
        var loose = await BlobAsync("team/app", "loose");
        var image = Image(config, layer);
        await S.Manifests.PutManifestAsync("team/app", image, "1.0", Now, Ct);
        var later = DateTimeOffset.UtcNow.AddMinutes(1);
        Assert.Empty(await S.Manifests.ListUnreferencedBlobsAsync(later, 100, Ct));

        // Unlinked but still referenced by the manifest: held.
        await S.Links.UnlinkBlobAsync("team/app", layer, Ct);
        await S.Links.UnlinkBlobAsync("team/app", loose, Ct);
        Assert.Equal([loose], await S.Manifests.ListUnreferencedBlobsAsync(later, 100, Ct));
        Assert.Empty(await S.Manifests.ListUnreferencedBlobsAsync(Now.AddMinutes(-1), 100, Ct));

        await S.Links.UnlinkBlobAsync("team/app", config, Ct);
        Assert.True(await S.Manifests.DeleteManifestAsync("team/app", image.Digest, Ct));
        Assert.Equal(new[] { config, layer, loose, image.Digest }.OrderBy(d => d.ToString(), StringComparer.Ordinal),
            await S.Manifests.ListUnreferencedBlobsAsync(later, 100, Ct));
        Assert.Single(await S.Manifests.ListUnreferencedBlobsAsync(later, 1, Ct));
    }
}
