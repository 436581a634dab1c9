using System.Net;
using Amazon.S3.Model;
using Berth.Configuration;
using Berth.Hosting;
using Berth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests;

/// <summary>Blobs on S3 (real radosgw) with garbage collection keeping nothing for grace, and uploads expiring at once.</summary>
public sealed class S3GcServer : S3RegistryServer
{
    protected override BerthOptions Configure(BerthOptions options) => base.Configure(options) with
    {
        Gc = new GcSettings { Schedule = "off", Grace = TimeSpan.Zero, Untagged = "delete" },
        UploadExpiry = TimeSpan.Zero,
    };
}

/// <summary>Garbage collection on S3: freed objects leave the bucket, a stale multipart upload is aborted.</summary>
public sealed class S3GcTests(S3GcServer server) : IClassFixture<S3GcServer>
{
    [Fact]
    public async Task ObjectsLeaveTheBucketAndAStaleMultipartUploadIsAborted()
    {
        var client = server.Client;
        var kept = await client.PushImageAsync("s3gc/app", "kept");
        var dropped = await client.PushImageAsync("s3gc/app", "dropped");
        using (var r = await client.DeleteAsync($"/v2/s3gc/app/manifests/{dropped.Digest}")) Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        // An object no row records (a crash between a manifest's object and its row), and a composition that died.
        var orphan = Blob.Random(500);
        await server.Bucket.Client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = server.Bucket.Name, Key = Key(orphan.Digest), InputStream = new MemoryStream(orphan.Content), UseChunkEncoding = false,
        });
        var dead = Blob.Random(10);
        await server.Bucket.Client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = server.Bucket.Name, Key = Key(dead.Digest) });

        var before = await server.KeysAsync("blobs/");
        foreach (var digest in new[] { kept.Digest, kept.Config.Digest, kept.Layer.Digest, dropped.Digest, dropped.Config.Digest, dropped.Layer.Digest, orphan.Digest })
        {
            Assert.Contains(Key(digest), before);
        }
        Assert.Single(await MultipartAsync());

        // S3 times are in whole seconds.
        await Task.Delay(1500);
        var gc = server.Services.GetRequiredService<GarbageCollection>();
        var report = await gc.RunExclusiveAsync(gc.Options(), CancellationToken.None);
        Assert.Equal(3, report.BlobsRemoved);
        Assert.Equal(1, report.OrphanFilesRemoved);

        Assert.Equal(new[] { kept.Digest, kept.Config.Digest, kept.Layer.Digest }.Select(Key).Order(StringComparer.Ordinal),
            (await server.KeysAsync("blobs/")).Order(StringComparer.Ordinal));
        Assert.Empty(await MultipartAsync());
        using (var m = await client.GetAsync("/v2/s3gc/app/manifests/kept", MediaType.OciManifest)) Assert.Equal(kept.Manifest, await m.BytesAsync());
        using (var b = await client.GetAsync($"/v2/s3gc/app/blobs/{kept.Layer.Digest}")) Assert.Equal(kept.Layer.Content, await b.BytesAsync());
    }

    private static string Key(string digest) => "blobs/sha256/" + digest["sha256:".Length..];

    private async Task<List<string>> MultipartAsync()
    {
        var list = new List<string>();
        await foreach (var u in server.Bucket.ListMultipartAsync("blobs/", CancellationToken.None)) list.Add(u.Key);
        return list;
    }
}
