using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IBlobLinks"/> contract.</summary>
public abstract class BlobLinksContract : StoreContract
{
    [Fact]
    public async Task ABlobIsReadableOnlyThroughRepositoriesThatLinkIt()
    {
        var digest = await BlobAsync("team/a", "layer");
        Assert.Equal(5, await S.Links.GetLinkedBlobAsync("team/a", digest, Ct));
        Assert.Null(await S.Links.GetLinkedBlobAsync("team/b", digest, Ct));
        Assert.True(await S.Links.UnlinkBlobAsync("team/a", digest, Ct));
        Assert.False(await S.Links.UnlinkBlobAsync("team/a", digest, Ct));
        Assert.Null(await S.Links.GetLinkedBlobAsync("team/a", digest, Ct));
    }

    [Fact]
    public async Task MountsOnlyFromASourceThatLinksTheBlob()
    {
        var digest = await BlobAsync("team/source", "shared layer");
        Assert.Null(await S.Links.MountBlobAsync("team/x", digest, "team/other", Ct));
        Assert.Null(await S.Repositories.GetAsync("team/x", Ct));
        Assert.Equal(12, await S.Links.MountBlobAsync("team/x", digest, "team/source", Ct));
        Assert.Equal(12, await S.Links.GetLinkedBlobAsync("team/x", digest, Ct));
        Assert.NotNull(await S.Repositories.GetAsync("team/x", Ct));
    }

    [Fact]
    public async Task TheMountSourceIsTheFirstLinkingRepositoryTheFilterAdmits()
    {
        var digest = await BlobAsync("bob/private", "shared");
        await BlobAsync("carol/public", "shared");
        await BlobAsync("zed/public", "shared");
        await S.Repositories.SetVisibilityAsync("carol/public", Visibility.Public, Now, Ct);
        await S.Repositories.SetVisibilityAsync("zed/public", Visibility.Public, Now, Ct);
        await AccountAsync("bob");

        Assert.Equal("bob/private", await S.Links.FindMountSourceAsync(digest, RepositoryFilter.Everything, Ct));
        Assert.Equal("carol/public", await S.Links.FindMountSourceAsync(digest, RepositoryFilter.Anonymous, Ct));
        Assert.Equal("bob/private", await S.Links.FindMountSourceAsync(digest, new RepositoryFilter(User: "bob"), Ct));
        Assert.Equal("zed/public", await S.Links.FindMountSourceAsync(digest, new RepositoryFilter(Only: ["zed/public"]), Ct));
        Assert.Null(await S.Links.FindMountSourceAsync(digest, new RepositoryFilter(Only: []), Ct));
        Assert.Null(await S.Links.FindMountSourceAsync(D("nothing"), RepositoryFilter.Everything, Ct));
    }
}
