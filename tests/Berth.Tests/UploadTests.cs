using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Berth.Core;

namespace Berth.Tests;

public sealed class UploadTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private readonly HttpClient _http = server.Http;

    private static ByteArrayContent Chunk(byte[] data, long? start = null)
    {
        var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (start is { } s) content.Headers.TryAddWithoutValidation("Content-Range", $"{s}-{s + data.Length - 1}");
        return content;
    }

    private async Task<string> StartAsync(string repository)
    {
        using var response = await _http.PostAsync($"/v2/{repository}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        Assert.StartsWith($"/v2/{repository}/blobs/uploads/", location);
        Assert.Equal(location.Split('/')[^1], response.Header("Docker-Upload-UUID"));
        Assert.Equal("0-0", response.Header("Range"));
        return location;
    }

    [Fact]
    public async Task ChunkedUploadWithStatusAndCompletion()
    {
        var data = Api.RandomBytes(300_000);
        var location = await StartAsync("uploads/chunked");
        using (var patch = await _http.PatchAsync(location, Chunk(data[..100_000], 0)))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            Assert.Equal("0-99999", patch.Header("Range"));
            location = patch.Headers.Location!.ToString();
        }
        using (var status = await _http.GetAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
            Assert.Equal("0-99999", status.Header("Range"));
            Assert.Equal(location, status.Headers.Location!.ToString());
        }
        using (var patch = await _http.PatchAsync(location, Chunk(data[100_000..200_000], 100_000)))
        {
            Assert.Equal("0-199999", patch.Header("Range"));
        }
        var digest = Api.DigestOf(data);
        using var put = await _http.PutAsync($"{location}?digest={digest}", Chunk(data[200_000..]));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal($"/v2/uploads/chunked/blobs/{digest}", put.Headers.Location!.ToString());
        Assert.Equal(digest, put.Header("Docker-Content-Digest"));
        Assert.Equal(data, await _http.GetByteArrayAsync($"/v2/uploads/chunked/blobs/{digest}"));
        using var gone = await _http.GetAsync(location);
        await gone.AssertErrorAsync(404, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task AChunkOutOfOrderIs416AndTheStatusStillTellsTheTruth()
    {
        var location = await StartAsync("uploads/order");
        using (await _http.PatchAsync(location, Chunk(new byte[10], 0))) { }
        using var bad = await _http.PatchAsync(location, Chunk(new byte[10], 20));
        await bad.AssertErrorAsync(416, "BLOB_UPLOAD_INVALID");
        Assert.Equal("0-9", bad.Header("Range"));
        using var status = await _http.GetAsync(location);
        Assert.Equal("0-9", status.Header("Range"));
    }

    [Fact]
    public async Task StreamedPatchWithoutContentRange()
    {
        var data = Api.RandomBytes(2 * 1024 * 1024 + 3);
        var location = await StartAsync("uploads/streamed");
        using var patch = await _http.PatchAsync(location, Chunk(data));
        var digest = Api.DigestOf(data);
        using var put = await _http.PutAsync($"{patch.Headers.Location}?digest={digest}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(data, await _http.GetByteArrayAsync($"/v2/uploads/streamed/blobs/{digest}"));
    }

    [Fact]
    public async Task ADigestThatLiesIsRefusedAndNothingIsStored()
    {
        var location = await StartAsync("uploads/lie");
        var claimed = Api.DigestOf([1, 2, 3]);
        using var put = await _http.PutAsync($"{location}?digest={claimed}", Chunk([4, 5, 6]));
        await put.AssertErrorAsync(400, "DIGEST_INVALID");
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/uploads/lie/blobs/{claimed}"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        using var monolithic = await _http.PostAsync($"/v2/uploads/lie/blobs/uploads/?digest={claimed}", Chunk([7, 8, 9]));
        await monolithic.AssertErrorAsync(400, "DIGEST_INVALID");
    }

    [Fact]
    public async Task CompletingWithoutADigestIs400()
    {
        var location = await StartAsync("uploads/nodigest");
        using var put = await _http.PutAsync(location, Chunk([1]));
        await put.AssertErrorAsync(400, "DIGEST_INVALID");
    }

    [Fact]
    public async Task Sha512Uploads()
    {
        var data = Api.RandomBytes(10_000);
        var digest = Digest.Compute(data, "sha512").ToString();
        using var post = await _http.PostAsync($"/v2/uploads/sha512/blobs/uploads/?digest={digest}", Chunk(data));
        Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        Assert.Equal(data, await _http.GetByteArrayAsync($"/v2/uploads/sha512/blobs/{digest}"));
    }

    [Fact]
    public async Task CancelledUploadsAreGone()
    {
        var location = await StartAsync("uploads/cancel");
        using var delete = await _http.DeleteAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using var status = await _http.GetAsync(location);
        await status.AssertErrorAsync(404, "BLOB_UPLOAD_UNKNOWN");
        using var patch = await _http.PatchAsync(location, Chunk([1]));
        await patch.AssertErrorAsync(404, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task AnUploadIsReachableOnlyThroughItsRepository()
    {
        var location = await StartAsync("uploads/mine");
        var id = location.Split('/')[^1];
        using var other = await _http.GetAsync($"/v2/uploads/theirs/blobs/uploads/{id}");
        await other.AssertErrorAsync(404, "BLOB_UPLOAD_UNKNOWN");
        using var traversal = await _http.GetAsync("/v2/uploads/mine/blobs/uploads/..%2F..%2Fberth.db");
        Assert.True((int)traversal.StatusCode is 400 or 404);
    }

    [Fact]
    public async Task MountsFromANamedRepositoryAnswer201()
    {
        var digest = await _http.PushBlobAsync("uploads/mount-source", Api.RandomBytes(500));
        using var mount = await _http.PostAsync($"/v2/uploads/mount-target/blobs/uploads/?mount={digest}&from=uploads/mount-source", null);
        Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        Assert.Equal(digest, mount.Header("Docker-Content-Digest"));
        Assert.Equal($"/v2/uploads/mount-target/blobs/{digest}", mount.Headers.Location!.ToString());
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/uploads/mount-target/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
    }

    [Fact]
    public async Task AMountThatCannotBeDoneOpensASession()
    {
        var digest = await _http.PushBlobAsync("uploads/mount-has", Api.RandomBytes(500));
        using var wrongSource = await _http.PostAsync($"/v2/uploads/mount-x/blobs/uploads/?mount={digest}&from=uploads/mount-lacks", null);
        Assert.Equal(HttpStatusCode.Accepted, wrongSource.StatusCode);
        Assert.NotNull(wrongSource.Headers.Location);
        using var unknown = await _http.PostAsync($"/v2/uploads/mount-x/blobs/uploads/?mount={Api.DigestOf([42])}", null);
        Assert.Equal(HttpStatusCode.Accepted, unknown.StatusCode);
    }

    [Fact]
    public async Task AMountWithoutFromFindsTheBlobElsewhere()
    {
        var digest = await _http.PushBlobAsync("uploads/auto-source", Api.RandomBytes(700));
        using var mount = await _http.PostAsync($"/v2/uploads/auto-target/blobs/uploads/?mount={digest}", null);
        Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
    }

    [Fact]
    public async Task ABodyShorterThanItsContentLengthStoresNothing()
    {
        var data = Api.RandomBytes(100);
        var digest = Api.DigestOf(data);
        var uri = _http.BaseAddress!;
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(uri.Host, uri.Port);
            var stream = tcp.GetStream();
            var head = $"POST /v2/uploads/short/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(data);
            tcp.Client.Shutdown(SocketShutdown.Send);
            var buffer = new byte[4096];
            try
            {
                while (await stream.ReadAsync(buffer) > 0) { }
            }
            catch (IOException)
            {
                // The server may reset the connection of a request it gave up on; either way it is over.
            }
        }
        using var check = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/uploads/short/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.NotFound, check.StatusCode);
    }

    [Fact]
    public async Task ABodyLongerThanItsContentLengthIsCutThereAndFailsTheDigest()
    {
        var data = Api.RandomBytes(20);
        var digest = Api.DigestOf(data);
        var uri = _http.BaseAddress!;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var stream = tcp.GetStream();
        var head = $"POST /v2/uploads/long/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(data);
        var reader = new StreamReader(stream, Encoding.ASCII);
        var status = await reader.ReadLineAsync();
        Assert.StartsWith("HTTP/1.1 400", status);
        using var check = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/uploads/long/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.NotFound, check.StatusCode);
    }

    [Fact]
    public async Task AChunkedUploadResumesAfterARestart()
    {
        var own = new RegistryServer();
        await own.InitializeAsync();
        try
        {
            var data = Api.RandomBytes(200_000);
            using var post = await own.Http.PostAsync("/v2/uploads/restart/blobs/uploads/", null);
            var location = post.Headers.Location!.ToString();
            using (await own.Http.PatchAsync(location, Chunk(data[..120_000], 0))) { }
            await own.RestartAsync();
            using (var status = await own.Http.GetAsync(location))
            {
                Assert.Equal("0-119999", status.Header("Range"));
            }
            using (await own.Http.PatchAsync(location, Chunk(data[120_000..], 120_000))) { }
            var digest = Api.DigestOf(data);
            using var put = await own.Http.PutAsync($"{location}?digest={digest}", null);
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Equal(data, await own.Http.GetByteArrayAsync($"/v2/uploads/restart/blobs/{digest}"));
        }
        finally
        {
            await own.DisposeAsync();
        }
    }
}
