using System.Net;
using Amazon.S3.Model;
using Berth.Configuration;
using Berth.Storage.S3;
using Berth.Tests.Support;
using S3Bucket = Berth.Storage.S3.S3Bucket;

namespace Berth.Tests;

/// <summary>
/// The server with blobs on S3 (the server tests/servers/ceph.sh starts, named by BERTH_TEST_S3_*), in a bucket of
/// its own. Without that server the tests fail, naming the script: they are never skipped.
/// </summary>
public class S3RegistryServer : RegistryServer
{
    private S3Bucket? _bucket;

    protected virtual bool Redirect => false;

    internal S3Bucket Bucket => _bucket ?? throw new InvalidOperationException("not started");

    public override async Task InitializeAsync()
    {
        var endpoint = Environment.GetEnvironmentVariable("BERTH_TEST_S3_ENDPOINT");
        if (string.IsNullOrEmpty(endpoint))
        {
            throw new InvalidOperationException(
                "BERTH_TEST_S3_ENDPOINT is not set, so there is no S3 server to test against: start one with " +
                "eval \"$(bash tests/servers/ceph.sh start)\" (and tests/servers/ceph.sh stop afterwards), or run ./test.sh, which does both");
        }
        _bucket = new S3Bucket(new S3Settings(endpoint, "berth-e2e-" + Guid.NewGuid().ToString("N")[..20], "us-east-1",
            Environment.GetEnvironmentVariable("BERTH_TEST_S3_ACCESS_KEY") ?? "", Environment.GetEnvironmentVariable("BERTH_TEST_S3_SECRET_KEY") ?? ""));
        await _bucket.Client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket.Name });
        await base.InitializeAsync();
    }

    public StorageOptions StorageOptions => new()
    {
        Type = StorageOptions.S3Type,
        S3 = new S3StorageOptions
        {
            Endpoint = Bucket.Settings.Endpoint,
            Bucket = Bucket.Name,
            AccessKey = Bucket.Settings.AccessKey,
            SecretKey = Bucket.Settings.SecretKey,
            Redirect = Redirect,
        },
    };

    protected override BerthOptions Configure(BerthOptions options) => options with { Storage = StorageOptions };

    public async Task<List<string>> KeysAsync(string prefix)
    {
        var keys = new List<string>();
        await foreach (var o in Bucket.ListAsync(prefix, null, CancellationToken.None)) keys.Add(o.Key);
        return keys;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_bucket is null) return;
        await foreach (var u in _bucket.ListMultipartAsync("", CancellationToken.None)) await _bucket.AbortAsync(u.Key, u.UploadId, CancellationToken.None);
        var keys = await KeysAsync("");
        if (keys.Count > 0) await _bucket.DeleteAsync(keys, CancellationToken.None);
        await _bucket.Client.DeleteBucketAsync(new DeleteBucketRequest { BucketName = _bucket.Name });
        _bucket.Dispose();
    }
}

public sealed class S3RedirectRegistryServer : S3RegistryServer
{
    protected override bool Redirect => true;
}

/// <summary>Push and pull through HTTP with blobs on S3 (real radosgw): chunked and monolithic uploads, ranges, manifests.</summary>
public sealed class S3StorageTests(S3RegistryServer server) : IClassFixture<S3RegistryServer>
{
    private RegistryClient Registry => server.Client;

    [Fact]
    public async Task A_chunked_push_with_chunks_above_and_below_5_MiB_pulls_back_whole_and_by_range()
    {
        var blob = Blob.Random((7 << 20) + 100_000 + (6 << 20));
        var location = await Registry.StartUploadAsync("s3/chunked");
        var chunks = new[] { (0, 7 << 20), (7 << 20, 100_000), ((7 << 20) + 100_000, 6 << 20) };
        foreach (var (start, length) in chunks)
        {
            using var r = await Registry.SendAsync(HttpMethod.Patch, location, RegistryClient.Bytes(blob.Content[start..(start + length)], $"{start}-{start + length - 1}"));
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
            location = r.Headers.Location!.OriginalString;
        }
        using (var done = await Registry.SendAsync(HttpMethod.Put, $"{location}{(location.Contains('?') ? '&' : '?')}digest={blob.Digest}"))
        {
            Assert.Equal(HttpStatusCode.Created, done.StatusCode);
        }
        Assert.Equal([$"blobs/sha256/{blob.Digest[7..]}"], await server.KeysAsync("blobs/"));
        Assert.Empty(await server.KeysAsync("uploads/"));

        using (var whole = await Registry.GetAsync($"/v2/s3/chunked/blobs/{blob.Digest}"))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Equal(blob.Content, await whole.BytesAsync());
        }
        using var ranged = new HttpRequestMessage(HttpMethod.Get, Registry.Url($"/v2/s3/chunked/blobs/{blob.Digest}"));
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue((7 << 20) - 10, (7 << 20) + 100_009);
        using var part = await Registry.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(blob.Content[((7 << 20) - 10)..((7 << 20) + 100_010)], await part.BytesAsync());
    }

    [Fact]
    public async Task An_image_pushes_and_pulls_with_its_manifest_on_S3()
    {
        var image = await Registry.PushImageAsync("s3/image", "v1");
        using var manifest = await Registry.GetAsync("/v2/s3/image/manifests/v1", image.MediaType);
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        Assert.Equal(image.Manifest, await manifest.BytesAsync());
        using var layer = await Registry.GetAsync($"/v2/s3/image/blobs/{image.Layer.Digest}");
        Assert.Equal(image.Layer.Content, await layer.BytesAsync());
        Assert.Contains($"blobs/sha256/{image.Digest[7..]}", await server.KeysAsync("blobs/"));
    }
}

/// <summary>A bucket that is not there, or keys that are wrong, stop the start with the cause, never with the secret.</summary>
public sealed class S3StartupTests(S3RegistryServer server) : IClassFixture<S3RegistryServer>
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_missing_bucket_or_a_wrong_key_is_a_startup_error(bool wrongKey)
    {
        var settings = server.Bucket.Settings;
        var secret = wrongKey ? "not-the-secret-" + Guid.NewGuid().ToString("N") : settings.SecretKey;
        var bucket = wrongKey ? settings.Bucket : "berth-missing-" + Guid.NewGuid().ToString("N")[..12];
        var data = Directory.CreateTempSubdirectory("berth-e2e-").FullName;
        try
        {
            var options = new BerthOptions
            {
                Listen = "127.0.0.1:0",
                Data = data,
                Storage = new StorageOptions
                {
                    Type = StorageOptions.S3Type,
                    S3 = new S3StorageOptions { Endpoint = settings.Endpoint, Bucket = bucket, AccessKey = settings.AccessKey, SecretKey = secret },
                },
            };
            var e = await Assert.ThrowsAsync<Hosting.StartupException>(() => Hosting.ServerHost.BuildAsync(options, TimeProvider.System));
            Assert.StartsWith("storage.s3: ", e.Message);
            Assert.Contains(bucket, e.Message);
            Assert.Contains(wrongKey ? "SignatureDoesNotMatch" : "NoSuchBucket", e.Message);
            Assert.DoesNotContain(secret, e.Message);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}

/// <summary>With <c>storage.s3.redirect</c>, blob GETs answer 307 to a pre-signed URL that a plain client follows, with its Range.</summary>
public sealed class S3RedirectTests(S3RedirectRegistryServer server) : IClassFixture<S3RedirectRegistryServer>
{
    private RegistryClient Registry => server.Client;

    [Fact]
    public async Task A_blob_GET_redirects_to_a_URL_that_serves_it_and_its_ranges()
    {
        var blob = Blob.Random(3 << 20);
        await Registry.PushBlobAsync("s3/redirect", blob);

        using var r = await Registry.GetAsync($"/v2/s3/redirect/blobs/{blob.Digest}");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, r.StatusCode);
        Assert.Equal(blob.Digest, r.Header("Docker-Content-Digest"));
        var location = r.Headers.Location!;
        Assert.Equal(new Uri(server.Bucket.Settings.Endpoint).Authority, location.Authority);
        Assert.Contains($"blobs/sha256/{blob.Digest[7..]}", location.AbsolutePath);

        using var plain = new HttpClient();
        Assert.Equal(blob.Content, await plain.GetByteArrayAsync(location));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, location);
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, 1_000_099);
        using var part = await plain.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(blob.Content[100..1_000_100], await part.Content.ReadAsByteArrayAsync());

        // HEAD is answered from metadata, without a redirect; a repository that does not hold the blob gets no URL.
        using var head = await Registry.HeadAsync($"/v2/s3/redirect/blobs/{blob.Digest}");
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(blob.Size, head.Content.Headers.ContentLength);
        using var elsewhere = await Registry.GetAsync($"/v2/s3/other/blobs/{blob.Digest}");
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        Assert.Null(elsewhere.Headers.Location);
    }

    [Fact]
    public async Task Manifests_are_served_directly_not_redirected()
    {
        var image = await Registry.PushImageAsync("s3/redirect-image", "v1");
        using var manifest = await Registry.GetAsync("/v2/s3/redirect-image/manifests/v1", image.MediaType);
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        Assert.Equal(image.Manifest, await manifest.BytesAsync());
    }
}
