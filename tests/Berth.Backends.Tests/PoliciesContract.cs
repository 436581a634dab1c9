using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Policies;

namespace Berth.Backends.Tests;

/// <summary>
/// The <see cref="IPolicies"/>, <see cref="ITagStatistics"/> and <see cref="IIntegrity"/> contracts, and the immutable-tags
/// check inside <see cref="IManifestIndex"/>'s transactions.
/// </summary>
public abstract class PoliciesContract : StoreContract
{
    private async Task<(Manifest One, Manifest Two)> ImagesAsync(string repository)
    {
        var config = await BlobAsync(repository, "cfg-" + repository);
        return (Image(config, await BlobAsync(repository, "one-" + repository)), Image(config, await BlobAsync(repository, "two-" + repository)));
    }

    [Fact]
    public async Task AnImmutableTagIsNeitherMovedNorDeleted()
    {
        var (one, two) = await ImagesAsync("team/app");
        await S.Manifests.PutManifestAsync("team/app", one, "v1", Now, Ct);
        await S.Manifests.PutManifestAsync("team/app", two, "dev", Now, Ct);
        await S.Policies.SetAsync(PolicyTarget.Namespace("team"), PolicyKinds.ImmutableTags, """{"patterns":["v*"]}""", Now, Ct);
        var events = await S.Events.LastIdAsync(Ct);

        var moved = await Assert.ThrowsAsync<RegistryException>(() => S.Manifests.PutManifestAsync("team/app", two, "v1", Now, Ct));
        Assert.Equal(ErrorCode.Denied, moved.Code);
        Assert.Contains("tag v1 of team/app is immutable (pattern \"v*\" of the immutable-tags policy of namespace team)", moved.Message);
        Assert.Equal(one.Digest, (await S.Manifests.ResolveTagAsync("team/app", "v1", Ct))!.Digest);
        Assert.Equal(ErrorCode.Denied, (await Assert.ThrowsAsync<RegistryException>(() => S.Manifests.DeleteTagAsync("team/app", "v1", Ct))).Code);
        // A manifest delete takes its tags along, so it is refused while an immutable tag points at it.
        Assert.Equal(ErrorCode.Denied, (await Assert.ThrowsAsync<RegistryException>(() => S.Manifests.DeleteManifestAsync("team/app", one.Digest, Ct))).Code);
        Assert.Equal(events, await S.Events.LastIdAsync(Ct));
        Assert.NotNull(await S.Manifests.GetManifestAsync("team/app", one.Digest, Ct));

        // The same digest again is no move; other tags and other namespaces are untouched by the rule.
        await S.Manifests.PutManifestAsync("team/app", one, "v1", Now, Ct);
        await S.Manifests.PutManifestAsync("team/app", one, "dev", Now, Ct);
        Assert.True(await S.Manifests.DeleteTagAsync("team/app", "dev", Ct));
        var (x, y) = await ImagesAsync("teams/app");
        await S.Manifests.PutManifestAsync("teams/app", x, "v1", Now, Ct);
        await S.Manifests.PutManifestAsync("teams/app", y, "v1", Now, Ct);

        // Everything except latest, on one repository; removing the namespace rule frees v1.
        await S.Policies.SetAsync("teams/app", PolicyKinds.ImmutableTags, """{"patterns":["*"],"except":["latest"]}""", Now, Ct);
        await S.Manifests.PutManifestAsync("teams/app", x, "latest", Now, Ct);
        await S.Manifests.PutManifestAsync("teams/app", y, "latest", Now, Ct);
        Assert.True(await S.Manifests.DeleteTagAsync("teams/app", "latest", Ct));
        Assert.Equal(ErrorCode.Denied, (await Assert.ThrowsAsync<RegistryException>(() => S.Manifests.PutManifestAsync("teams/app", x, "v1", Now, Ct))).Code);
        await S.Policies.SetAsync(PolicyTarget.Namespace("team"), PolicyKinds.ImmutableTags, null, Now, Ct);
        await S.Manifests.PutManifestAsync("team/app", two, "v1", Now, Ct);
        Assert.True(await S.Manifests.DeleteManifestAsync("team/app", one.Digest, Ct));
    }

    [Fact]
    public async Task RetentionDeletesATagOnlyWhereThePlanSawIt()
    {
        var (one, two) = await ImagesAsync("team/app");
        await S.Manifests.PutManifestAsync("team/app", one, "old", Now, Ct);
        await S.Manifests.PutManifestAsync("team/app", one, "v1", Now, Ct);
        // Pushed again (to another digest) since the plan: kept.
        await S.Manifests.PutManifestAsync("team/app", two, "old", Now, Ct);
        Assert.False(await S.Policies.DeleteTagIfAsync("team/app", "old", one.Digest, Ct));
        Assert.False(await S.Policies.DeleteTagIfAsync("team/app", "none", one.Digest, Ct));
        var events = await S.Events.LastIdAsync(Ct);
        Assert.True(await S.Policies.DeleteTagIfAsync("team/app", "old", two.Digest, Ct));
        Assert.Null(await S.Manifests.ResolveTagAsync("team/app", "old", Ct));
        var e = Assert.Single(await S.Events.ReadAfterAsync(events, 10, Ct));
        Assert.Equal((EventKinds.TagDelete, "old", two.Digest.ToString()), (e.Kind, e.Tag, e.Digest));
        await S.Policies.SetAsync("team/app", PolicyKinds.ImmutableTags, """{"patterns":["v*"]}""", Now, Ct);
        Assert.Equal(ErrorCode.Denied, (await Assert.ThrowsAsync<RegistryException>(() => S.Policies.DeleteTagIfAsync("team/app", "v1", one.Digest, Ct))).Code);
        Assert.NotNull(await S.Manifests.ResolveTagAsync("team/app", "v1", Ct));
    }

    [Fact]
    public async Task PolicyDocumentsAreKeptPerTargetAndKind()
    {
        Assert.Null(await S.Policies.GetAsync("acme/", PolicyKinds.Quota, Ct));
        Assert.True(await S.Policies.SetAsync("acme/", PolicyKinds.Quota, """{"bytes":10}""", Now, Ct));
        Assert.True(await S.Policies.SetAsync("acme/", PolicyKinds.Quota, """{"bytes":20}""", Now, Ct));
        Assert.True(await S.Policies.SetAsync("acme/api", PolicyKinds.Retention, """{"keepLast":3}""", Now, Ct));
        Assert.Equal("""{"bytes":20}""", await S.Policies.GetAsync("acme/", PolicyKinds.Quota, Ct));
        Assert.Null(await S.Policies.GetAsync("acme/", PolicyKinds.Retention, Ct));
        Assert.Equal(["acme/api"], (await S.Policies.ListAsync(PolicyKinds.Retention, Ct)).Select(d => d.Target));
        Assert.True(await S.Policies.SetAsync("acme/", PolicyKinds.Quota, null, Now, Ct));
        Assert.False(await S.Policies.SetAsync("acme/", PolicyKinds.Quota, null, Now, Ct));
        Assert.Empty(await S.Policies.ListAsync(PolicyKinds.Quota, Ct));
    }

    [Fact]
    public async Task UsageCountsEachBlobOfTheNamespaceOnce()
    {
        Assert.Equal(new NamespaceUsage(0, false), await S.Policies.UsageAsync("team", null, Ct));
        var shared = await BlobAsync("team/a", "shared-layer");
        await BlobAsync("team/b", "shared-layer");
        var own = await BlobAsync("team/b", "own");
        await BlobAsync("teams/c", "not in team, though its name starts so");
        await BlobAsync("team0/c", "nor this one");
        await BlobAsync("team", "nor a repository named like the namespace");
        var expected = "shared-layer".Length + "own".Length;
        Assert.Equal(expected, (await S.Policies.UsageAsync("team", null, Ct)).Bytes);

        var holds = await S.Policies.UsageAsync("team", shared, Ct);
        Assert.True(holds.Holds);
        Assert.Equal("shared-layer".Length, holds.Size);
        var elsewhere = await S.Policies.UsageAsync("team", D("nor this one"), Ct);
        Assert.False(elsewhere.Holds);
        Assert.Equal("nor this one".Length, elsewhere.Size);
        Assert.Null((await S.Policies.UsageAsync("team", D("never stored"), Ct)).Size);

        // Manifests count too, and unlinking gives the space back.
        var image = Image(shared, own);
        await S.Manifests.PutManifestAsync("team/b", image, "1", Now, Ct);
        Assert.Equal(expected + image.Content.Length, (await S.Policies.UsageAsync("team", null, Ct)).Bytes);
        Assert.True(await S.Manifests.DeleteManifestAsync("team/b", image.Digest, Ct));
        Assert.True(await S.Links.UnlinkBlobAsync("team/b", own, Ct));
        Assert.Equal("shared-layer".Length, (await S.Policies.UsageAsync("team", null, Ct)).Bytes);
        Assert.Equal(["team/a", "team/b"], await S.Policies.RepositoriesAsync("team/", Ct));
    }

    [Fact]
    public async Task PullsAreAddedPerTagAndManifestWithAnEventEach()
    {
        var (one, _) = await ImagesAsync("team/app");
        await S.Manifests.PutManifestAsync("team/app", one, "1.0", Now, Ct);
        Assert.Equal(0, (await S.TagStatistics.ListTagDetailsAsync("team/app", null, 10, Ct))!.Single().PullCount);
        var events = await S.Events.LastIdAsync(Ct);
        var t1 = Now.AddMinutes(1);
        var t2 = Now.AddMinutes(2);
        await S.TagStatistics.RecordPullsAsync([new PullCount("team/app", one.Digest, "1.0", 3, t2), new PullCount("team/app", one.Digest, null, 2, t1),
            new PullCount("team/gone", one.Digest, "x", 1, t1)], Ct);
        await S.TagStatistics.RecordPullsAsync([new PullCount("team/app", one.Digest, "1.0", 1, t1)], Ct);
        var tag = (await S.TagStatistics.ListTagDetailsAsync("team/app", null, 10, Ct))!.Single();
        Assert.Equal(("1.0", one.Digest, 4L), (tag.Name, tag.Digest, tag.PullCount));
        Assert.Equal(t2.ToUnixTimeMilliseconds(), tag.LastPulled!.Value.ToUnixTimeMilliseconds());
        var pulls = (await S.Events.ReadAfterAsync(events, 100, Ct)).Where(e => e.Kind == EventKinds.Pull).ToList();
        Assert.Equal(4, pulls.Count);
        Assert.Contains(pulls, e => e is { Repository: "team/app", Tag: "1.0", Detail: "3" } && e.Digest == one.Digest.ToString());
        Assert.Null(await S.TagStatistics.ListTagDetailsAsync("team/none", null, 10, Ct));
    }

    [Fact]
    public async Task QuarantineAndTheScrubsQuestions()
    {
        var (one, _) = await ImagesAsync("team/app");
        await S.Manifests.PutManifestAsync("team/app", one, "1.0", Now, Ct);
        var all = new List<RecordedBlob>();
        Digest? after = null;
        while ((await S.Integrity.ListBlobsAsync(after, 2, Ct)) is { Count: > 0 } page)
        {
            all.AddRange(page);
            after = page[^1].Digest;
        }
        Assert.Equal(4, all.Count); // config, two layers, the manifest
        Assert.Equal(all.OrderBy(b => b.Digest.ToString(), StringComparer.Ordinal), all);
        Assert.Empty(await S.Integrity.ListDanglingReferencesAsync(10, Ct));
        var layer = one.RequiredBlobs.Last().Digest;
        Assert.True(await S.Links.UnlinkBlobAsync("team/app", layer, Ct));
        Assert.Equal(new DanglingReference("team/app", one.Digest, layer.ToString()), Assert.Single(await S.Integrity.ListDanglingReferencesAsync(10, Ct)));

        await S.Integrity.QuarantineAsync(layer, "first", Now, Ct);
        await S.Integrity.QuarantineAsync(layer, "second", Now, Ct);
        Assert.Equal("first", Assert.Single(await S.Integrity.ListQuarantinedAsync(Ct)).Reason);
        Assert.True(await S.Integrity.ReleaseAsync(layer, Ct));
        Assert.False(await S.Integrity.ReleaseAsync(layer, Ct));
        Assert.Empty(await S.Integrity.ListQuarantinedAsync(Ct));
    }
}
