using System.Net;
using System.Net.Http.Headers;

namespace Berth.Tests;

public sealed class BlobTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private readonly HttpClient _http = server.Http;

    [Fact]
    public async Task HeadAndGetCarryTheDigestSizeAndType()
    {
        var content = Api.RandomBytes(5000);
        var digest = await _http.PushBlobAsync("blobs/head", content);

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/blobs/head/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(5000, head.Content.Headers.ContentLength);
        Assert.Equal(digest, head.Header("Docker-Content-Digest"));
        Assert.Equal("application/octet-stream", head.Content.Headers.ContentType!.MediaType);
        Assert.Equal($"\"{digest}\"", head.Headers.ETag!.Tag);
        Assert.Equal("registry/2.0", head.Header("Docker-Distribution-API-Version"));

        using var get = await _http.GetAsync($"/v2/blobs/head/blobs/{digest}");
        Assert.Equal(content, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal(digest, get.Header("Docker-Content-Digest"));
    }

    [Theory]
    [InlineData("bytes=0-9", 0, 10)]
    [InlineData("bytes=100-", 100, 900)]
    [InlineData("bytes=-50", 950, 50)]
    [InlineData("bytes=990-5000", 990, 10)]
    public async Task RangesAnswer206(string range, int start, int length)
    {
        var content = Api.RandomBytes(1000);
        var digest = await _http.PushBlobAsync("blobs/range", content);
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/blobs/range/blobs/{digest}");
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {start}-{start + length - 1}/1000", response.Content.Headers.ContentRange!.ToString());
        Assert.Equal(content.AsSpan(start, length).ToArray(), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task ARangeOutsideTheBlobIs416()
    {
        var digest = await _http.PushBlobAsync("blobs/range", Api.RandomBytes(100));
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/blobs/range/blobs/{digest}");
        request.Headers.Range = new RangeHeaderValue(100, 200);
        using var response = await _http.SendAsync(request);
        await response.AssertErrorAsync(416, "BLOB_UPLOAD_INVALID");
        Assert.Equal("bytes */100", response.Content.Headers.ContentRange!.ToString());
    }

    [Fact]
    public async Task ABlobIsServedOnlyThroughRepositoriesThatLinkIt()
    {
        var digest = await _http.PushBlobAsync("blobs/owner", Api.RandomBytes(64));
        using var other = await _http.GetAsync($"/v2/blobs/stranger/blobs/{digest}");
        await other.AssertErrorAsync(404, "BLOB_UNKNOWN");
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/blobs/stranger/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [Fact]
    public async Task DeleteUnlinksTheBlob()
    {
        var digest = await _http.PushBlobAsync("blobs/delete", Api.RandomBytes(64));
        using var delete = await _http.DeleteAsync($"/v2/blobs/delete/blobs/{digest}");
        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        using var get = await _http.GetAsync($"/v2/blobs/delete/blobs/{digest}");
        await get.AssertErrorAsync(404, "BLOB_UNKNOWN");
        using var again = await _http.DeleteAsync($"/v2/blobs/delete/blobs/{digest}");
        await again.AssertErrorAsync(404, "BLOB_UNKNOWN");
    }

    [Theory]
    [InlineData("sha256:abc")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("nodigest")]
    public async Task AnInvalidDigestIs400(string digest)
    {
        using var response = await _http.GetAsync($"/v2/blobs/any/blobs/{digest}");
        await response.AssertErrorAsync(400, "DIGEST_INVALID");
    }

    [Fact]
    public async Task AnUnknownBlobIs404()
    {
        using var response = await _http.GetAsync($"/v2/blobs/any/blobs/{Api.DigestOf([1, 2, 3])}");
        await response.AssertErrorAsync(404, "BLOB_UNKNOWN");
    }
}
