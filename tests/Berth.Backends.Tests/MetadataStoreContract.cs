using System.Text;
using Berth.Core;
using Berth.Core.Metadata;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IMetadataStore"/> contract; every backend runs it through a one-constructor subclass.</summary>
public abstract class MetadataStoreContract : IDisposable, IAsyncLifetime
{
    protected readonly TempDirectory Temp = new();
    private readonly CancellationToken _ct = CancellationToken.None;
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private IMetadataStore _store = null!;

    /// <summary>A store over the same persistent state each time it is called.</summary>
    protected abstract IMetadataStore Open();

    public async Task InitializeAsync()
    {
        _store = Open();
        await _store.MigrateAsync(_ct);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => Temp.Dispose();

    private static Digest D(string s) => Digest.Compute(Encoding.UTF8.GetBytes(s));

    private async Task<Digest> BlobAsync(string repository, string content)
    {
        var session = new UploadSession(Guid.NewGuid().ToString("N"), repository, content.Length, Now, Now);
        await _store.CreateUploadAsync(session, _ct);
        await _store.CompleteUploadAsync(session, D(content), _ct);
        return D(content);
    }

    private static Manifest Image(Digest config, Digest layer, Digest? subject = null, string? artifactType = null)
    {
        var subjectJson = subject is null ? "" : $$""","subject":{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{subject}}","size":10}""";
        var artifactJson = artifactType is null ? "" : $$""","artifactType":"{{artifactType}}" """;
        var json = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{config}}","size":1},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{{layer}}","size":1}]{{subjectJson}}{{artifactJson}}}""";
        var bytes = Encoding.UTF8.GetBytes(json);
        return Manifest.Parse(bytes, MediaTypes.OciManifest, Digest.Compute(bytes));
    }

    private static Manifest Index(params Digest[] children)
    {
        var entries = string.Join(",", children.Select(c => $$"""{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{c}}","size":10}"""));
        var bytes = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[{{entries}}]}""");
        return Manifest.Parse(bytes, MediaTypes.OciIndex, Digest.Compute(bytes));
    }

    [Fact]
    public async Task MigratingTwiceIsHarmless()
    {
        await Open().MigrateAsync(_ct);
        Assert.False(await Open().RepositoryExistsAsync("team/app", _ct));
    }

    [Fact]
    public async Task ABlobIsReadableOnlyThroughRepositoriesThatLinkIt()
    {
        var digest = await BlobAsync("team/a", "layer");
        Assert.True(await _store.RepositoryExistsAsync("team/a", _ct));
        Assert.Equal(5, await _store.GetLinkedBlobAsync("team/a", digest, _ct));
        Assert.Null(await _store.GetLinkedBlobAsync("team/b", digest, _ct));
        Assert.True(await _store.UnlinkBlobAsync("team/a", digest, _ct));
        Assert.False(await _store.UnlinkBlobAsync("team/a", digest, _ct));
        Assert.Null(await _store.GetLinkedBlobAsync("team/a", digest, _ct));
    }

    [Fact]
    public async Task MountsFromANamedRepositoryOrAnyReadableOne()
    {
        var digest = await BlobAsync("team/source", "shared layer");
        Assert.Null(await _store.MountBlobAsync("team/x", digest, "team/other", _ => ValueTask.FromResult(true), _ct));
        Assert.Equal(12, await _store.MountBlobAsync("team/x", digest, "team/source", _ => ValueTask.FromResult(true), _ct));
        Assert.Equal(12, await _store.GetLinkedBlobAsync("team/x", digest, _ct));
        Assert.Null(await _store.MountBlobAsync("team/y", digest, null, _ => ValueTask.FromResult(false), _ct));
        Assert.Null(await _store.GetLinkedBlobAsync("team/y", digest, _ct));
        Assert.Equal(12, await _store.MountBlobAsync("team/y", digest, null, r => ValueTask.FromResult(r == "team/source"), _ct));
    }

    [Fact]
    public async Task AManifestNeedsItsBlobsAndChildrenInTheRepository()
    {
        var config = await BlobAsync("team/app", "config");
        var layer = await BlobAsync("other/repo", "layer");
        var image = Image(config, layer);
        var e = await Assert.ThrowsAsync<RegistryException>(() => _store.PutManifestAsync("team/app", image, "1.0", Now, _ct));
        Assert.Equal(ErrorCode.ManifestBlobUnknown, e.Code);
        Assert.Null(await _store.ResolveTagAsync("team/app", "1.0", _ct));
        Assert.Null(await _store.GetManifestAsync("team/app", image.Digest, _ct));

        var index = Index(image.Digest);
        Assert.Equal(ErrorCode.ManifestBlobUnknown, (await Assert.ThrowsAsync<RegistryException>(() => _store.PutManifestAsync("team/app", index, "multi", Now, _ct))).Code);

        await _store.MountBlobAsync("team/app", layer, "other/repo", _ => ValueTask.FromResult(true), _ct);
        await _store.PutManifestAsync("team/app", image, "1.0", Now, _ct);
        await _store.PutManifestAsync("team/app", index, "multi", Now, _ct);
        Assert.Equal(image.Digest, (await _store.ResolveTagAsync("team/app", "1.0", _ct))!.Digest);
        Assert.Equal(MediaTypes.OciIndex, (await _store.ResolveTagAsync("team/app", "multi", _ct))!.MediaType);
    }

    [Fact]
    public async Task TagsMoveAndDeleteIndependentlyOfManifests()
    {
        var config = await BlobAsync("team/app", "cfg");
        var one = Image(config, await BlobAsync("team/app", "l1"));
        var two = Image(config, await BlobAsync("team/app", "l2"));
        await _store.PutManifestAsync("team/app", one, "prod", Now, _ct);
        await _store.PutManifestAsync("team/app", one, "1.0", Now, _ct);
        await _store.PutManifestAsync("team/app", two, "prod", Now, _ct);
        Assert.Equal(two.Digest, (await _store.ResolveTagAsync("team/app", "prod", _ct))!.Digest);

        Assert.True(await _store.DeleteTagAsync("team/app", "prod", _ct));
        Assert.False(await _store.DeleteTagAsync("team/app", "prod", _ct));
        Assert.NotNull(await _store.GetManifestAsync("team/app", two.Digest, _ct));

        Assert.True(await _store.DeleteManifestAsync("team/app", one.Digest, _ct));
        Assert.Null(await _store.ResolveTagAsync("team/app", "1.0", _ct));
        Assert.False(await _store.DeleteManifestAsync("team/app", one.Digest, _ct));
    }

    [Fact]
    public async Task ListsArePagedInLexicalOrder()
    {
        var config = await BlobAsync("team/app", "c");
        var image = Image(config, config);
        foreach (var tag in new[] { "b", "a", "c", "1.0" }) await _store.PutManifestAsync("team/app", image, tag, Now, _ct);
        Assert.Equal(["1.0", "a", "b", "c"], await _store.ListTagsAsync("team/app", null, 100, _ct));
        Assert.Equal(["1.0", "a"], await _store.ListTagsAsync("team/app", null, 2, _ct));
        Assert.Equal(["b", "c"], await _store.ListTagsAsync("team/app", "a", 2, _ct));
        Assert.Null(await _store.ListTagsAsync("team/none", null, 10, _ct));

        await BlobAsync("alpha/x", "x");
        await BlobAsync("zulu/y", "y");
        Assert.Equal(["alpha/x", "team/app", "zulu/y"], await _store.ListRepositoriesAsync(null, 10, _ct));
        Assert.Equal(["zulu/y"], await _store.ListRepositoriesAsync("team/app", 10, _ct));
    }

    [Fact]
    public async Task ReferrersAreFoundBySubjectAndFilteredByArtifactType()
    {
        var config = await BlobAsync("team/app", "config");
        var subject = Image(config, config);
        await _store.PutManifestAsync("team/app", subject, "1.0", Now, _ct);
        var sbom = Image(config, await BlobAsync("team/app", "sbom"), subject.Digest, "application/vnd.example.sbom");
        var sig = Image(config, await BlobAsync("team/app", "sig"), subject.Digest, "application/vnd.example.sig");
        await _store.PutManifestAsync("team/app", sbom, null, Now, _ct);
        await _store.PutManifestAsync("team/app", sig, null, Now, _ct);

        var all = await _store.ListReferrersAsync("team/app", subject.Digest, null, _ct);
        Assert.Equal(2, all.Count);
        var filtered = Assert.Single(await _store.ListReferrersAsync("team/app", subject.Digest, "application/vnd.example.sig", _ct));
        Assert.Equal(sig.Digest, filtered.Digest);
        Assert.Empty(await _store.ListReferrersAsync("team/other", subject.Digest, null, _ct));
    }

    [Fact]
    public async Task UploadSessionsAreRecordedUpdatedAndExpired()
    {
        var old = Now.AddHours(-2);
        await _store.CreateUploadAsync(new UploadSession("aaaa", "team/app", 0, old, old), _ct);
        await _store.CreateUploadAsync(new UploadSession("bbbb", "team/app", 0, Now, Now), _ct);
        await _store.UpdateUploadAsync("bbbb", 42, Now, _ct);
        var b = await Open().GetUploadAsync("bbbb", _ct);
        Assert.Equal(42, b!.Size);
        Assert.Null(b.Committing);
        await _store.MarkUploadCommittingAsync("bbbb", 50, D("x"), _ct);
        var committing = (await _store.GetUploadAsync("bbbb", _ct))!;
        Assert.Equal((D("x"), 50L), (committing.Committing, committing.Size));

        var stale = await _store.ListUploadsUpdatedBeforeAsync(Now.AddHours(-1), _ct);
        Assert.Equal(["aaaa"], stale.Select(s => s.Id));
        await _store.DeleteUploadAsync("aaaa", _ct);
        Assert.Null(await _store.GetUploadAsync("aaaa", _ct));
    }
}

public sealed class SqliteMetadataStoreTests : MetadataStoreContract
{
    protected override IMetadataStore Open() => new Berth.Metadata.SqliteMetadataStore(Path.Combine(Temp.Path, "berth.db"), TimeProvider.System);
}
