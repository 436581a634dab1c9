using System.Net;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>Blob reads (HEAD, GET, ranges), deletes and repository isolation.</summary>
public sealed class BlobTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private RegistryClient Registry => server.Client;

    private async Task<Blob> PushedAsync(string repository, int size = 1000)
    {
        var blob = Blob.Random(size);
        await Registry.PushBlobAsync(repository, blob);
        return blob;
    }

    private static void AssertBlobHeaders(HttpResponseMessage r, Blob blob, long contentLength)
    {
        Assert.Equal(contentLength, r.Content.Headers.ContentLength);
        Assert.Equal(blob.Digest, r.Header("Docker-Content-Digest"));
        Assert.Equal("application/octet-stream", r.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"\"{blob.Digest}\"", r.Headers.ETag?.ToString());
    }

    [Fact]
    public async Task HEAD_gives_size_digest_type_and_etag_without_a_body()
    {
        var blob = await PushedAsync("blobs/head", 1234);
        using var r = await Registry.HeadAsync($"/v2/blobs/head/blobs/{blob.Digest}");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        AssertBlobHeaders(r, blob, 1234);
        Assert.Empty(await r.BytesAsync());
    }

    [Fact]
    public async Task GET_returns_the_content_with_its_headers()
    {
        var blob = await PushedAsync("blobs/get", 3000);
        using var r = await Registry.GetAsync($"/v2/blobs/get/blobs/{blob.Digest}");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        AssertBlobHeaders(r, blob, 3000);
        Assert.Equal(blob.Content, await r.BytesAsync());
    }

    [Fact]
    public async Task GET_with_a_matching_If_None_Match_is_304()
    {
        var blob = await PushedAsync("blobs/etag", 100);
        using var request = new HttpRequestMessage(HttpMethod.Get, Registry.Url($"/v2/blobs/etag/blobs/{blob.Digest}"));
        request.Headers.TryAddWithoutValidation("If-None-Match", $"\"{blob.Digest}\"");
        using var r = await Registry.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, r.StatusCode);
        Assert.Empty(await r.BytesAsync());
    }

    [Fact]
    public async Task An_empty_blob_can_be_pushed_and_read()
    {
        var blob = new Blob([]);
        await Registry.PushBlobAsync("blobs/empty", blob);
        using var r = await Registry.GetAsync($"/v2/blobs/empty/blobs/{blob.Digest}");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        AssertBlobHeaders(r, blob, 0);
        Assert.Empty(await r.BytesAsync());
    }

    [Fact]
    public async Task Unknown_blob_is_404_BLOB_UNKNOWN()
    {
        var digest = Blob.Random(10).Digest;
        using var get = await Registry.GetAsync($"/v2/blobs/unknown/blobs/{digest}");
        var error = await get.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        Assert.Equal(digest, error.GetProperty("detail").GetProperty("digest").GetString());
        using var head = await Registry.HeadAsync($"/v2/blobs/unknown/blobs/{digest}");
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Empty(await head.BytesAsync());
    }

    [Theory]
    [InlineData("bytes=0-9", 0, 9)]
    [InlineData("bytes=100-199", 100, 199)]
    [InlineData("bytes=990-", 990, 999)]
    [InlineData("bytes=990-5000", 990, 999)]
    [InlineData("bytes=-10", 990, 999)]
    [InlineData("bytes=-5000", 0, 999)]
    [InlineData("bytes=999-999", 999, 999)]
    public async Task Range_requests_get_206_with_Content_Range(string range, int first, int last)
    {
        var blob = await PushedAsync("blobs/range", 1000);
        using var request = new HttpRequestMessage(HttpMethod.Get, Registry.Url($"/v2/blobs/range/blobs/{blob.Digest}"));
        request.Headers.TryAddWithoutValidation("Range", range);
        using var r = await Registry.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, r.StatusCode);
        Assert.Equal($"bytes {first}-{last}/1000", r.Header("Content-Range"));
        Assert.Equal(last - first + 1, r.Content.Headers.ContentLength);
        Assert.Equal(blob.Digest, r.Header("Docker-Content-Digest"));
        Assert.Equal(blob.Content[first..(last + 1)], await r.BytesAsync());
    }

    [Theory]
    [InlineData("bytes=1000-")]
    [InlineData("bytes=1000-1010")]
    [InlineData("bytes=5000-6000")]
    [InlineData("bytes=-0")]
    public async Task Unsatisfiable_ranges_are_416_with_the_size(string range)
    {
        var blob = await PushedAsync("blobs/range416", 1000);
        using var request = new HttpRequestMessage(HttpMethod.Get, Registry.Url($"/v2/blobs/range416/blobs/{blob.Digest}"));
        request.Headers.TryAddWithoutValidation("Range", range);
        using var r = await Registry.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, r.StatusCode);
        Assert.Equal("bytes */1000", r.Header("Content-Range"));
        Assert.NotEqual(blob.Content, await r.BytesAsync());
    }

    [Fact]
    public async Task A_malformed_Range_is_ignored_and_the_whole_blob_served()
    {
        var blob = await PushedAsync("blobs/badrange", 100);
        using var request = new HttpRequestMessage(HttpMethod.Get, Registry.Url($"/v2/blobs/badrange/blobs/{blob.Digest}"));
        request.Headers.TryAddWithoutValidation("Range", "bytes=abc-def");
        using var r = await Registry.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(blob.Content, await r.BytesAsync());
    }

    [Fact]
    public async Task DELETE_is_202_then_the_blob_is_BLOB_UNKNOWN()
    {
        var blob = await PushedAsync("blobs/delete");
        using (var delete = await Registry.DeleteAsync($"/v2/blobs/delete/blobs/{blob.Digest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        using (var head = await Registry.HeadAsync($"/v2/blobs/delete/blobs/{blob.Digest}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }
        using (var get = await Registry.GetAsync($"/v2/blobs/delete/blobs/{blob.Digest}"))
        {
            await get.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        }
        using var again = await Registry.DeleteAsync($"/v2/blobs/delete/blobs/{blob.Digest}");
        await again.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task Deleting_a_blob_in_one_repository_leaves_it_in_another()
    {
        var blob = await PushedAsync("blobs/shared-a");
        await Registry.PushBlobAsync("blobs/shared-b", blob);
        using (var delete = await Registry.DeleteAsync($"/v2/blobs/shared-a/blobs/{blob.Digest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        using var r = await Registry.GetAsync($"/v2/blobs/shared-b/blobs/{blob.Digest}");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(blob.Content, await r.BytesAsync());
    }

    [Fact]
    public async Task A_blob_pushed_to_one_repository_is_unknown_in_another()
    {
        var blob = await PushedAsync("blobs/iso-a");
        using (var head = await Registry.HeadAsync($"/v2/blobs/iso-a/blobs/{blob.Digest}"))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }
        using (var head = await Registry.HeadAsync($"/v2/blobs/iso-b/blobs/{blob.Digest}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }
        using (var get = await Registry.GetAsync($"/v2/blobs/iso-b/blobs/{blob.Digest}"))
        {
            await get.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        }
        using var delete = await Registry.DeleteAsync($"/v2/blobs/iso-b/blobs/{blob.Digest}");
        await delete.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }
}
