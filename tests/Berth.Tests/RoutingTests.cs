using System.Net;
using Berth.Api;

namespace Berth.Tests;

public sealed class RoutingTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private readonly HttpClient _http = server.Http;

    [Fact]
    public async Task TheBaseEndpointAnswers200()
    {
        using var get = await _http.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("registry/2.0", get.Header("Docker-Distribution-API-Version"));
        Assert.Equal("{}", await get.Content.ReadAsStringAsync());
        using var noSlash = await _http.GetAsync("/v2");
        Assert.Equal(HttpStatusCode.OK, noSlash.StatusCode);
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2/"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
    }

    [Theory]
    [InlineData("/v2/Upper/tags/list")]
    [InlineData("/v2/a%2F..%2Fb/tags/list")]
    [InlineData("/v2/a..b/tags/list")]
    [InlineData("/v2/a//b/tags/list")]
    [InlineData("/v2/-a/tags/list")]
    [InlineData("/v2/a_/manifests/latest")]
    [InlineData("/v2/a%20b/blobs/sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")]
    public async Task InvalidNamesAre400(string path)
    {
        using var response = await _http.GetAsync(path);
        await response.AssertErrorAsync(400, "NAME_INVALID");
    }

    [Fact]
    public async Task AnOverlongNameIs400()
    {
        using var response = await _http.GetAsync($"/v2/{new string('a', 256)}/tags/list");
        await response.AssertErrorAsync(400, "NAME_INVALID");
    }

    [Fact]
    public async Task AnUnknownMethodIs405()
    {
        using var response = await _http.PostAsync("/v2/routing/app/manifests/latest", null);
        await response.AssertErrorAsync(405, "UNSUPPORTED");
    }

    [Theory]
    [InlineData("/v2/routing/app/unknown/thing")]
    [InlineData("/v3/")]
    [InlineData("/")]
    public async Task UnknownPathsAreJson404(string path)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/v2/", "Base", "", "")]
    [InlineData("/v2/_catalog", "Catalog", "", "")]
    [InlineData("/v2/a/b/c/tags/list", "Tags", "a/b/c", "")]
    [InlineData("/v2/a/manifests/latest", "Manifest", "a", "latest")]
    [InlineData("/v2/manifests/manifests/latest", "Manifest", "manifests", "latest")]
    [InlineData("/v2/a/blobs/sha256:x", "Blob", "a", "sha256:x")]
    [InlineData("/v2/a/b/blobs/uploads/", "UploadStart", "a/b", "")]
    [InlineData("/v2/a/b/blobs/uploads", "UploadStart", "a/b", "")]
    [InlineData("/v2/a/b/blobs/uploads/123", "Upload", "a/b", "123")]
    [InlineData("/v2/blobs/blobs/uploads/123", "Upload", "blobs", "123")]
    [InlineData("/v2/a/referrers/sha256:x", "Referrers", "a", "sha256:x")]
    public void PathsParseByTheirTail(string path, string kind, string name, string argument) =>
        Assert.Equal(new V2Route(Enum.Parse<RouteKind>(kind), name, argument), V2Route.Parse(path));

    [Theory]
    [InlineData("/v2/manifests/latest")]
    [InlineData("/v2/a/manifests/")]
    [InlineData("/v2/a/other/x")]
    [InlineData("/v3/a/tags/list")]
    public void OtherPathsDoNotParse(string path) => Assert.Null(V2Route.Parse(path));

    [Theory]
    [InlineData("bytes=0-0", 10, 0L, 1L)]
    [InlineData("bytes=5-", 10, 5L, 5L)]
    [InlineData("bytes=-3", 10, 7L, 3L)]
    [InlineData("bytes=-30", 10, 0L, 10L)]
    [InlineData("bytes=8-100", 10, 8L, 2L)]
    public void SatisfiableRanges(string header, long size, long start, long length)
    {
        Assert.True(ByteRange.TryParse(header, size, out var range));
        Assert.Equal((start, length), range);
    }

    [Theory]
    [InlineData("bytes=10-", 10)]
    [InlineData("bytes=20-30", 10)]
    public void UnsatisfiableRanges(string header, long size)
    {
        Assert.True(ByteRange.TryParse(header, size, out var range));
        Assert.Null(range);
    }

    [Theory]
    [InlineData("")]
    [InlineData("items=0-1")]
    [InlineData("bytes=0-1,3-4")]
    [InlineData("bytes=5-2")]
    [InlineData("bytes=abc")]
    public void IgnoredRanges(string header) => Assert.False(ByteRange.TryParse(header, 10, out _));
}
