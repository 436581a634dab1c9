using Berth.Api;

namespace Berth.Tests;

/// <summary>The path parser and the Range parser, without a server.</summary>
public sealed class RouteParsingTests
{
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
    [InlineData("/v2/a/../b/blobs/uploads/?x=/../", "/v2/a/../b/blobs/uploads/")]
    [InlineData("/v2/a/%2e%2E/b", "/v2/a/../b")]
    [InlineData("/v2/a%2Fb/%2f", "/v2/a%2Fb/%2f")]
    [InlineData("/v2/%61/manifests/sha256%3Aab", "/v2/a/manifests/sha256:ab")]
    [InlineData("/v2/caf%C3%A9/%20%25%", "/v2/caf%C3%A9/%20%25%")]
    [InlineData("http://host:5000/v2/../x?q", "/v2/../x")]
    [InlineData("http://host:5000", "/")]
    public void TheRawPathKeepsWhatTheClientSent(string target, string path) => Assert.Equal(path, RequestTarget.PathOf(target));

    [Theory]
    [InlineData("*")]
    [InlineData("host:443")]
    public void OtherTargetFormsKeepKestrelsPath(string target) => Assert.Null(RequestTarget.PathOf(target));

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
