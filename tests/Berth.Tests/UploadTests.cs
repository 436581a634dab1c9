using System.Net;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>Blob uploads: sessions, monolithic and chunked pushes, failures, mounts, and a restart mid-upload.</summary>
public sealed class UploadTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private RegistryClient Registry => server.Client;

    private static void AssertSession(HttpResponseMessage r, HttpStatusCode status, string repository, string range)
    {
        Assert.Equal(status, r.StatusCode);
        var location = r.Headers.Location?.OriginalString;
        Assert.NotNull(location);
        Assert.StartsWith($"/v2/{repository}/blobs/uploads/", location);
        var id = location[$"/v2/{repository}/blobs/uploads/".Length..];
        Assert.NotEmpty(id);
        Assert.Equal(id, r.Header("Docker-Upload-UUID"));
        Assert.Equal(range, r.Header("Range"));
    }

    private static void AssertCreated(HttpResponseMessage r, string repository, string digest)
    {
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        Assert.Equal($"/v2/{repository}/blobs/{digest}", r.Headers.Location?.OriginalString);
        Assert.Equal(digest, r.Header("Docker-Content-Digest"));
    }

    private async Task AssertStoredAsync(string repository, string digest, byte[] content)
    {
        using var r = await Registry.GetAsync($"/v2/{repository}/blobs/{digest}");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(digest, r.Header("Docker-Content-Digest"));
        Assert.Equal(content, await r.BytesAsync());
    }

    private async Task AssertAbsentAsync(string repository, params string[] digests)
    {
        foreach (var digest in digests)
        {
            using var r = await Registry.HeadAsync($"/v2/{repository}/blobs/{digest}");
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        }
    }

    private Task<HttpResponseMessage> PatchAsync(string location, byte[] chunk, string? contentRange) =>
        Registry.SendAsync(HttpMethod.Patch, location, RegistryClient.Bytes(chunk, contentRange));

    private Task<HttpResponseMessage> PutAsync(string location, string digest, HttpContent? content = null) =>
        Registry.SendAsync(HttpMethod.Put, $"{location}?digest={digest}", content);

    [Fact]
    public async Task POST_opens_a_session_and_GET_reports_it()
    {
        using var post = await Registry.SendAsync(HttpMethod.Post, "/v2/up/session/blobs/uploads/");
        AssertSession(post, HttpStatusCode.Accepted, "up/session", "0-0");
        Assert.Equal(0, post.Content.Headers.ContentLength);

        using var status = await Registry.GetAsync(post.Headers.Location!.OriginalString);
        AssertSession(status, HttpStatusCode.NoContent, "up/session", "0-0");
        Assert.Equal(post.Header("Docker-Upload-UUID"), status.Header("Docker-Upload-UUID"));
    }

    [Fact]
    public async Task POST_without_trailing_slash_opens_a_session_too()
    {
        using var post = await Registry.SendAsync(HttpMethod.Post, "/v2/up/session/blobs/uploads");
        AssertSession(post, HttpStatusCode.Accepted, "up/session", "0-0");
    }

    [Fact]
    public async Task Monolithic_POST_with_digest_stores_the_blob()
    {
        var blob = Blob.Random(5000);
        using var r = await Registry.SendAsync(HttpMethod.Post, $"/v2/up/mono/blobs/uploads/?digest={blob.Digest}", RegistryClient.Bytes(blob.Content));
        AssertCreated(r, "up/mono", blob.Digest);
        await AssertStoredAsync("up/mono", blob.Digest, blob.Content);
    }

    [Fact]
    public async Task Chunks_in_order_then_PUT_without_body()
    {
        var blob = Blob.Random(2500);
        var location = await Registry.StartUploadAsync("up/chunks");

        using (var first = await PatchAsync(location, blob.Content[..1000], "0-999"))
        {
            AssertSession(first, HttpStatusCode.Accepted, "up/chunks", "0-999");
        }
        using (var status = await Registry.GetAsync(location))
        {
            AssertSession(status, HttpStatusCode.NoContent, "up/chunks", "0-999");
        }
        using (var second = await PatchAsync(location, blob.Content[1000..], "1000-2499"))
        {
            AssertSession(second, HttpStatusCode.Accepted, "up/chunks", "0-2499");
        }
        await AssertAbsentAsync("up/chunks", blob.Digest);
        using (var put = await PutAsync(location, blob.Digest))
        {
            AssertCreated(put, "up/chunks", blob.Digest);
        }
        await AssertStoredAsync("up/chunks", blob.Digest, blob.Content);

        // A committed session is gone.
        using var after = await Registry.GetAsync(location);
        await after.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task PUT_with_the_final_chunk()
    {
        var blob = Blob.Random(2000);
        var location = await Registry.StartUploadAsync("up/final");
        using (var first = await PatchAsync(location, blob.Content[..1500], "0-1499"))
        {
            AssertSession(first, HttpStatusCode.Accepted, "up/final", "0-1499");
        }
        using (var put = await PutAsync(location, blob.Digest, RegistryClient.Bytes(blob.Content[1500..], "1500-1999")))
        {
            AssertCreated(put, "up/final", blob.Digest);
        }
        await AssertStoredAsync("up/final", blob.Digest, blob.Content);
    }

    [Fact]
    public async Task POST_then_PUT_with_the_whole_body()
    {
        var blob = Blob.Random(700);
        var location = await Registry.StartUploadAsync("up/postput");
        using (var put = await PutAsync(location, blob.Digest, RegistryClient.Bytes(blob.Content)))
        {
            AssertCreated(put, "up/postput", blob.Digest);
        }
        await AssertStoredAsync("up/postput", blob.Digest, blob.Content);
    }

    [Fact]
    public async Task Streamed_PATCH_without_Content_Range()
    {
        var blob = Blob.Random(3 << 20);
        var location = await Registry.StartUploadAsync("up/stream");
        using (var patch = await Registry.SendAsync(HttpMethod.Patch, location, new StreamContent(new MemoryStream(blob.Content))))
        {
            AssertSession(patch, HttpStatusCode.Accepted, "up/stream", $"0-{blob.Size - 1}");
        }
        using (var put = await PutAsync(location, blob.Digest))
        {
            AssertCreated(put, "up/stream", blob.Digest);
        }
        await AssertStoredAsync("up/stream", blob.Digest, blob.Content);
    }

    [Fact]
    public async Task Out_of_order_chunk_is_416_and_the_session_keeps_its_range()
    {
        var blob = Blob.Random(30);
        var location = await Registry.StartUploadAsync("up/order");

        using (var early = await PatchAsync(location, blob.Content[5..10], "5-9"))
        {
            await early.AssertErrorAsync(HttpStatusCode.RequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID");
            AssertSession(early, HttpStatusCode.RequestedRangeNotSatisfiable, "up/order", "0-0");
        }
        using (var first = await PatchAsync(location, blob.Content[..10], "0-9"))
        {
            AssertSession(first, HttpStatusCode.Accepted, "up/order", "0-9");
        }
        using (var gap = await PatchAsync(location, blob.Content[20..], "20-29"))
        {
            await gap.AssertErrorAsync(HttpStatusCode.RequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID");
            AssertSession(gap, HttpStatusCode.RequestedRangeNotSatisfiable, "up/order", "0-9");
        }
        using (var repeat = await PatchAsync(location, blob.Content[..10], "0-9"))
        {
            AssertSession(repeat, HttpStatusCode.RequestedRangeNotSatisfiable, "up/order", "0-9");
        }
        using (var status = await Registry.GetAsync(location))
        {
            AssertSession(status, HttpStatusCode.NoContent, "up/order", "0-9");
        }
        using (var rest = await PatchAsync(location, blob.Content[10..], "10-29"))
        {
            AssertSession(rest, HttpStatusCode.Accepted, "up/order", "0-29");
        }
        using (var put = await PutAsync(location, blob.Digest))
        {
            AssertCreated(put, "up/order", blob.Digest);
        }
        await AssertStoredAsync("up/order", blob.Digest, blob.Content);
    }

    [Fact]
    public async Task Content_Range_that_disagrees_with_Content_Length_is_416()
    {
        var location = await Registry.StartUploadAsync("up/disagree");
        using (var r = await PatchAsync(location, new byte[50], "0-99"))
        {
            await r.AssertErrorAsync(HttpStatusCode.RequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID");
        }
        using var status = await Registry.GetAsync(location);
        AssertSession(status, HttpStatusCode.NoContent, "up/disagree", "0-0");
    }

    [Fact]
    public async Task DELETE_cancels_the_session()
    {
        var location = await Registry.StartUploadAsync("up/cancel");
        using (var patch = await PatchAsync(location, new byte[10], "0-9"))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        }
        using (var delete = await Registry.DeleteAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        using (var status = await Registry.GetAsync(location))
        {
            await status.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }
        using (var patch = await PatchAsync(location, new byte[10], "10-19"))
        {
            await patch.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }
        using (var put = await PutAsync(location, Blob.Sha256(new byte[10])))
        {
            await put.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }
        using var again = await Registry.DeleteAsync(location);
        await again.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("not-an-upload")]
    [InlineData("..%2F..%2Fberth.db")]
    public async Task Unknown_sessions_are_BLOB_UPLOAD_UNKNOWN(string id)
    {
        using var status = await Registry.GetAsync($"/v2/up/unknown/blobs/uploads/{id}");
        await status.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        using var patch = await PatchAsync($"/v2/up/unknown/blobs/uploads/{id}", new byte[3], null);
        await patch.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        using var put = await PutAsync($"/v2/up/unknown/blobs/uploads/{id}", Blob.Sha256([]));
        await put.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        using var delete = await Registry.DeleteAsync($"/v2/up/unknown/blobs/uploads/{id}");
        await delete.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task A_session_cannot_be_used_through_another_repository()
    {
        var blob = Blob.Random(100);
        var location = await Registry.StartUploadAsync("up/owner");
        var foreign = location.Replace("/v2/up/owner/", "/v2/up/thief/", StringComparison.Ordinal);
        using (var patch = await PatchAsync(foreign, blob.Content, "0-99"))
        {
            await patch.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }
        using (var put = await PutAsync(foreign, blob.Digest, RegistryClient.Bytes(blob.Content)))
        {
            await put.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }
        await AssertAbsentAsync("up/thief", blob.Digest);
        using var status = await Registry.GetAsync(location);
        AssertSession(status, HttpStatusCode.NoContent, "up/owner", "0-0");
    }

    [Fact]
    public async Task PUT_without_digest_is_DIGEST_INVALID()
    {
        var location = await Registry.StartUploadAsync("up/nodigest");
        using var put = await Registry.SendAsync(HttpMethod.Put, location, RegistryClient.Bytes(new byte[4]));
        await put.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Fact]
    public async Task Chunked_upload_with_the_wrong_digest_is_DIGEST_INVALID_and_stores_nothing()
    {
        var blob = Blob.Random(1000);
        var claimed = Blob.Random(1000).Digest;
        var location = await Registry.StartUploadAsync("up/mismatch");
        using (var patch = await PatchAsync(location, blob.Content, "0-999"))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        }
        using (var put = await PutAsync(location, claimed))
        {
            await put.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
        }
        await AssertAbsentAsync("up/mismatch", claimed, blob.Digest);
    }

    [Fact]
    public async Task Monolithic_upload_with_the_wrong_digest_is_DIGEST_INVALID_and_stores_nothing()
    {
        var blob = Blob.Random(1000);
        var claimed = Blob.Random(1000).Digest;
        using (var r = await Registry.SendAsync(HttpMethod.Post, $"/v2/up/mismatch-mono/blobs/uploads/?digest={claimed}", RegistryClient.Bytes(blob.Content)))
        {
            await r.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
        }
        await AssertAbsentAsync("up/mismatch-mono", claimed, blob.Digest);
    }

    [Fact]
    public async Task A_final_chunk_with_the_wrong_digest_is_DIGEST_INVALID_and_stores_nothing()
    {
        var blob = Blob.Random(1000);
        var location = await Registry.StartUploadAsync("up/mismatch-final");
        using (var put = await PutAsync(location, Blob.Sha256(blob.Content[1..]), RegistryClient.Bytes(blob.Content)))
        {
            await put.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
        }
        await AssertAbsentAsync("up/mismatch-final", blob.Digest, Blob.Sha256(blob.Content[1..]));
    }

    [Fact]
    public async Task A_PATCH_body_that_stalls_is_refused_keeps_what_arrived_and_resumes_there()
    {
        var blob = Blob.Random(110);
        var location = await Registry.StartUploadAsync("up/short");
        using (var first = await PatchAsync(location, blob.Content[..10], "0-9"))
        {
            AssertSession(first, HttpStatusCode.Accepted, "up/short", "0-9");
        }

        // Kestrel gives up on a body slower than its minimum data rate.
        var (status, head) = await Registry.RawAsync($"""
            PATCH {location} HTTP/1.1
            Host: {Registry.BaseAddress.Authority}
            Content-Type: application/octet-stream
            Content-Range: 10-109
            Content-Length: 100
            Connection: close

            """, blob.Content[10..60], TimeSpan.FromSeconds(60));
        Assert.True(status is >= 400 and < 500, $"short PATCH answered {status}: {head}");
        await AssertRangeAsync(location, "up/short", "0-59");
        await AssertAbsentAsync("up/short", blob.Digest, Blob.Sha256(blob.Content[..60]), Blob.Sha256(blob.Content[..10]));

        // Resending the whole chunk would append after the bytes that arrived: it is refused with where the upload stands.
        using (var resend = await PatchAsync(location, blob.Content[10..], "10-109"))
        {
            AssertSession(resend, HttpStatusCode.RequestedRangeNotSatisfiable, "up/short", "0-59");
        }
        using (var rest = await PatchAsync(location, blob.Content[60..], "60-109"))
        {
            AssertSession(rest, HttpStatusCode.Accepted, "up/short", "0-109");
        }
        using (var put = await PutAsync(location, blob.Digest))
        {
            AssertCreated(put, "up/short", blob.Digest);
        }
        await AssertStoredAsync("up/short", blob.Digest, blob.Content);
    }

    /// <summary>The server learns of a dropped connection when its read fails, after the client has moved on: wait for that.</summary>
    private static async Task AssertRangeAsync(RegistryClient client, string location, string repository, string range)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var status = await client.GetAsync(location);
            if (status.Header("Range") == range || attempt == 100)
            {
                AssertSession(status, HttpStatusCode.NoContent, repository, range);
                return;
            }
            await Task.Delay(100);
        }
    }

    private Task AssertRangeAsync(string location, string repository, string range) => AssertRangeAsync(Registry, location, repository, range);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_PATCH_cut_off_by_the_network_keeps_what_arrived_durably_and_resumes_there(bool restart)
    {
        var own = new RegistryServer();
        await own.InitializeAsync();
        try
        {
            var blob = Blob.Random(2000);
            var location = await own.Client.StartUploadAsync("up/cut");
            using (var tcp = new System.Net.Sockets.TcpClient())
            {
                await tcp.ConnectAsync(own.Client.BaseAddress.Host, own.Client.BaseAddress.Port);
                var stream = tcp.GetStream();
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
                    $"PATCH {location} HTTP/1.1\r\nHost: {own.Client.BaseAddress.Authority}\r\nContent-Type: application/octet-stream\r\n" +
                    "Content-Range: 0-1999\r\nContent-Length: 2000\r\n\r\n"));
                await stream.WriteAsync(blob.Content.AsMemory(0, 700));
                await stream.FlushAsync();
            }
            await AssertRangeAsync(own.Client, location, "up/cut", "0-699");

            if (restart)
            {
                // The hasher is lost with the process: completion re-hashes the file, which must hold exactly what was recorded.
                await own.StopAsync();
                await own.StartAsync();
                using var status = await own.Client.GetAsync(location);
                AssertSession(status, HttpStatusCode.NoContent, "up/cut", "0-699");
            }
            using (var rest = await own.Client.SendAsync(HttpMethod.Patch, location, RegistryClient.Bytes(blob.Content[700..], "700-1999")))
            {
                AssertSession(rest, HttpStatusCode.Accepted, "up/cut", "0-1999");
            }
            using (var put = await own.Client.SendAsync(HttpMethod.Put, $"{location}?digest={blob.Digest}"))
            {
                AssertCreated(put, "up/cut", blob.Digest);
            }
            using var get = await own.Client.GetAsync($"/v2/up/cut/blobs/{blob.Digest}");
            Assert.Equal(blob.Content, await get.BytesAsync());
        }
        finally
        {
            await own.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_monolithic_body_shorter_than_Content_Length_is_refused_and_stores_nothing()
    {
        var blob = Blob.Random(100);
        var (status, head) = await Registry.RawAsync($"""
            POST /v2/up/short-mono/blobs/uploads/?digest={blob.Digest} HTTP/1.1
            Host: {Registry.BaseAddress.Authority}
            Content-Type: application/octet-stream
            Content-Length: 100
            Connection: close

            """, blob.Content[..50], TimeSpan.FromSeconds(60));
        Assert.True(status is >= 400 and < 500, $"short POST answered {status}: {head}");
        await AssertAbsentAsync("up/short-mono", blob.Digest, Blob.Sha256(blob.Content[..50]));
    }

    [Fact]
    public async Task A_body_longer_than_Content_Length_is_cut_there_and_fails_the_digest()
    {
        var blob = Blob.Random(20);
        var (status, head) = await Registry.RawAsync($"""
            POST /v2/up/long-mono/blobs/uploads/?digest={blob.Digest} HTTP/1.1
            Host: {Registry.BaseAddress.Authority}
            Content-Type: application/octet-stream
            Content-Length: 10
            Connection: close

            """, blob.Content, TimeSpan.FromSeconds(60));
        Assert.True(status == 400, $"long POST answered {status}: {head}");
        await AssertAbsentAsync("up/long-mono", blob.Digest, Blob.Sha256(blob.Content[..10]));
    }

    [Fact]
    public async Task Sha512_digests_work_monolithic_and_chunked()
    {
        var mono = Blob.Random(4000);
        var monoDigest = Blob.Sha512(mono.Content);
        using (var r = await Registry.SendAsync(HttpMethod.Post, $"/v2/up/sha512/blobs/uploads/?digest={monoDigest}", RegistryClient.Bytes(mono.Content)))
        {
            AssertCreated(r, "up/sha512", monoDigest);
        }
        await AssertStoredAsync("up/sha512", monoDigest, mono.Content);
        // Stored under the digest it was pushed with, not under its sha256.
        await AssertAbsentAsync("up/sha512", mono.Digest);

        var chunked = Blob.Random(3000);
        var chunkedDigest = Blob.Sha512(chunked.Content);
        var location = await Registry.StartUploadAsync("up/sha512");
        using (var patch = await PatchAsync(location, chunked.Content[..1000], "0-999"))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        }
        using (var put = await PutAsync(location, chunkedDigest, RegistryClient.Bytes(chunked.Content[1000..], "1000-2999")))
        {
            AssertCreated(put, "up/sha512", chunkedDigest);
        }
        await AssertStoredAsync("up/sha512", chunkedDigest, chunked.Content);

        var wrong = Blob.Sha512(Blob.Random(10).Content);
        using (var bad = await Registry.SendAsync(HttpMethod.Post, $"/v2/up/sha512/blobs/uploads/?digest={wrong}", RegistryClient.Bytes(mono.Content)))
        {
            await bad.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
        }
        await AssertAbsentAsync("up/sha512", wrong);
    }

    [Fact]
    public async Task Mount_from_a_repository_that_has_the_blob_is_201()
    {
        var blob = Blob.Random(500);
        await Registry.PushBlobAsync("up/mount-source", blob);
        using (var r = await Registry.SendAsync(HttpMethod.Post, $"/v2/up/mount-target/blobs/uploads/?mount={blob.Digest}&from=up/mount-source"))
        {
            AssertCreated(r, "up/mount-target", blob.Digest);
        }
        await AssertStoredAsync("up/mount-target", blob.Digest, blob.Content);
    }

    [Theory]
    [InlineData("up/mount-elsewhere")]
    [InlineData("up/Not-A-Name")]
    [InlineData("up/mount-nowhere")]
    public async Task Mount_from_a_repository_without_the_blob_opens_a_session(string from)
    {
        var blob = Blob.Random(500);
        await Registry.PushBlobAsync("up/mount-elsewhere-holder", blob);
        await Registry.PushBlobAsync("up/mount-elsewhere", Blob.Random(10));
        using (var r = await Registry.SendAsync(HttpMethod.Post, $"/v2/up/mount-refused/blobs/uploads/?mount={blob.Digest}&from={from}"))
        {
            AssertSession(r, HttpStatusCode.Accepted, "up/mount-refused", "0-0");
            Assert.Null(r.Header("Docker-Content-Digest"));
        }
        await AssertAbsentAsync("up/mount-refused", blob.Digest);
    }

    [Fact]
    public async Task Mount_without_from_finds_the_blob_in_any_repository()
    {
        var blob = Blob.Random(500);
        await Registry.PushBlobAsync("up/mount-any-source", blob);
        using (var r = await Registry.SendAsync(HttpMethod.Post, $"/v2/up/mount-any-target/blobs/uploads/?mount={blob.Digest}"))
        {
            AssertCreated(r, "up/mount-any-target", blob.Digest);
        }
        await AssertStoredAsync("up/mount-any-target", blob.Digest, blob.Content);

        var unknown = Blob.Random(10);
        using var none = await Registry.SendAsync(HttpMethod.Post, $"/v2/up/mount-any-target/blobs/uploads/?mount={unknown.Digest}");
        AssertSession(none, HttpStatusCode.Accepted, "up/mount-any-target", "0-0");
    }

    [Fact]
    public async Task An_upload_session_survives_a_server_restart()
    {
        var own = new RegistryServer();
        await own.InitializeAsync();
        try
        {
            var blob = Blob.Random(300_000);
            var location = await own.Client.StartUploadAsync("up/restart");
            using (var first = await own.Client.SendAsync(HttpMethod.Patch, location, RegistryClient.Bytes(blob.Content[..100_000], "0-99999")))
            {
                AssertSession(first, HttpStatusCode.Accepted, "up/restart", "0-99999");
            }

            await own.StopAsync();
            await own.StartAsync();

            using (var status = await own.Client.GetAsync(location))
            {
                AssertSession(status, HttpStatusCode.NoContent, "up/restart", "0-99999");
            }
            using (var rest = await own.Client.SendAsync(HttpMethod.Patch, location, RegistryClient.Bytes(blob.Content[100_000..], "100000-299999")))
            {
                AssertSession(rest, HttpStatusCode.Accepted, "up/restart", "0-299999");
            }
            using (var put = await own.Client.SendAsync(HttpMethod.Put, $"{location}?digest={blob.Digest}"))
            {
                AssertCreated(put, "up/restart", blob.Digest);
            }
            using var get = await own.Client.GetAsync($"/v2/up/restart/blobs/{blob.Digest}");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(blob.Content, await get.BytesAsync());
        }
        finally
        {
            await own.DisposeAsync();
        }
    }

    [Fact]
    public async Task Racing_PATCHes_of_the_same_chunk_append_it_once()
    {
        var blob = Blob.Random(1 << 20);
        var location = await Registry.StartUploadAsync("up/race");
        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PatchAsync(location, blob.Content, $"0-{blob.Size - 1}")));
        try
        {
            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Accepted);
            Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Accepted),
                r => Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, r.StatusCode));
        }
        finally
        {
            foreach (var r in responses) r.Dispose();
        }
        using (var status = await Registry.GetAsync(location))
        {
            AssertSession(status, HttpStatusCode.NoContent, "up/race", $"0-{blob.Size - 1}");
        }
        using (var put = await PutAsync(location, blob.Digest))
        {
            AssertCreated(put, "up/race", blob.Digest);
        }
        await AssertStoredAsync("up/race", blob.Digest, blob.Content);
    }

    [Fact]
    public async Task Failed_monolithic_uploads_leave_no_session_behind()
    {
        var own = new RegistryServer();
        await own.InitializeAsync();
        try
        {
            var blob = Blob.Random(100);
            using (var invalid = await own.Client.SendAsync(HttpMethod.Post, "/v2/up/leak/blobs/uploads/?digest=sha256:nothex", RegistryClient.Bytes(blob.Content)))
            {
                await invalid.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
            }
            using (var mismatch = await own.Client.SendAsync(HttpMethod.Post, $"/v2/up/leak/blobs/uploads/?digest={Blob.Random(5).Digest}", RegistryClient.Bytes(blob.Content)))
            {
                await mismatch.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
            }
            var (status, head) = await own.Client.RawAsync($"""
                POST /v2/up/leak/blobs/uploads/?digest={blob.Digest} HTTP/1.1
                Host: {own.Client.BaseAddress.Authority}
                Content-Type: application/octet-stream
                Content-Length: 100
                Connection: close

                """, blob.Content[..50], TimeSpan.FromSeconds(60));
            Assert.True(status is >= 400 and < 500, $"short POST answered {status}: {head}");

            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(own.DataDirectory, "uploads")));
        }
        finally
        {
            await own.DisposeAsync();
        }
    }
}
