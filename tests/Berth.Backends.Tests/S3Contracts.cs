using System.Net;
using Amazon.S3.Model;
using Berth.Core;
using Berth.Core.Storage;
using Berth.Storage.S3;
using S3Bucket = Berth.Storage.S3.S3Bucket;

namespace Berth.Backends.Tests;

/// <summary>
/// A bucket of its own for one test on the S3 server the environment names (tests/servers/ceph.sh starts one and
/// prints the variables; ./test.sh does it before the tests). Without it the test fails: S3 tests are never skipped.
/// </summary>
public sealed class S3TestBucket : IAsyncDisposable
{
    private readonly List<S3Bucket> _opened = [];

    private S3TestBucket(S3Settings settings) => Settings = settings;

    public S3Settings Settings { get; }

    public static S3Settings FromEnvironment(string bucket, bool redirect = false)
    {
        var endpoint = Environment.GetEnvironmentVariable("BERTH_TEST_S3_ENDPOINT");
        if (string.IsNullOrEmpty(endpoint))
        {
            throw new InvalidOperationException(
                "BERTH_TEST_S3_ENDPOINT is not set, so there is no S3 server to test against: start one with " +
                "eval \"$(bash tests/servers/ceph.sh start)\" (and tests/servers/ceph.sh stop afterwards), or run ./test.sh, which does both");
        }
        return new S3Settings(endpoint, bucket, "us-east-1",
            Environment.GetEnvironmentVariable("BERTH_TEST_S3_ACCESS_KEY") ?? "", Environment.GetEnvironmentVariable("BERTH_TEST_S3_SECRET_KEY") ?? "",
            ForcePathStyle: true, Redirect: redirect);
    }

    /// <summary>Creates a new, empty bucket.</summary>
    public static async Task<S3TestBucket> CreateAsync()
    {
        var test = new S3TestBucket(FromEnvironment("berth-test-" + Guid.NewGuid().ToString("N")[..20]));
        await test.Open().Client.PutBucketAsync(new PutBucketRequest { BucketName = test.Settings.Bucket });
        return test;
    }

    /// <summary>A new client on the bucket, as another process would have.</summary>
    public S3Bucket Open(bool redirect = false)
    {
        var bucket = new S3Bucket(Settings with { Redirect = redirect });
        lock (_opened) _opened.Add(bucket);
        return bucket;
    }

    public async Task<List<string>> KeysAsync(string prefix = "")
    {
        var keys = new List<string>();
        await foreach (var o in Open().ListAsync(prefix, null, CancellationToken.None)) keys.Add(o.Key);
        return keys;
    }

    public async Task<List<MultipartUpload>> MultipartAsync(string prefix = "")
    {
        var uploads = new List<MultipartUpload>();
        await foreach (var u in Open().ListMultipartAsync(prefix, CancellationToken.None)) uploads.Add(u);
        return uploads;
    }

    /// <summary>Removes everything the test left, then the bucket.</summary>
    public async ValueTask DisposeAsync()
    {
        var bucket = Open();
        foreach (var u in await MultipartAsync()) await bucket.AbortAsync(u.Key, u.UploadId, CancellationToken.None);
        var keys = await KeysAsync();
        if (keys.Count > 0) await bucket.DeleteAsync(keys, CancellationToken.None);
        await bucket.Client.DeleteBucketAsync(new DeleteBucketRequest { BucketName = Settings.Bucket });
        lock (_opened)
        {
            foreach (var b in _opened) b.Dispose();
        }
    }
}

public sealed class S3BlobStoreTests : BlobStoreContract, IAsyncLifetime
{
    private S3TestBucket? _bucket;

    public async Task InitializeAsync() => _bucket = await S3TestBucket.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_bucket is not null) await _bucket.DisposeAsync();
    }

    protected override IBlobStore Open() => new S3BlobStore(_bucket!.Open(), TimeProvider.System);
}

public sealed class S3UploadStagingTests : UploadStagingContract, IAsyncLifetime
{
    private S3TestBucket? _bucket;

    public async Task InitializeAsync() => _bucket = await S3TestBucket.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_bucket is not null) await _bucket.DisposeAsync();
    }

    protected override IUploadStaging OpenStaging() => new S3UploadStaging(_bucket!.Open());

    protected override IBlobStore OpenBlobs() => new S3BlobStore(_bucket!.Open(), TimeProvider.System);
}

/// <summary>What the contract suites do not reach: multipart composition, discarding staged data, redirects, aborts.</summary>
public sealed class S3StorageTests : IAsyncLifetime
{
    private const int MiB = 1 << 20;
    private readonly CancellationToken _ct = CancellationToken.None;
    private S3TestBucket? _bucket;

    public async Task InitializeAsync() => _bucket = await S3TestBucket.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_bucket is not null) await _bucket.DisposeAsync();
    }

    private S3TestBucket Bucket => _bucket!;

    private S3UploadStaging Staging() => new(Bucket.Open());

    private S3BlobStore Blobs(bool redirect = false) => new(Bucket.Open(redirect), TimeProvider.System);

    private static string NewId() => Guid.NewGuid().ToString("N");

    private static byte[] RandomBytes(int size)
    {
        var data = new byte[size];
        Random.Shared.NextBytes(data);
        return data;
    }

    private async Task StageAsync(string id, long offset, byte[] data)
    {
        await using var writer = await Staging().OpenUploadAsync(id, offset, _ct);
        var written = 0;
        while (written < data.Length)
        {
            var n = Math.Min(writer.Buffer.Length, data.Length - written);
            data.AsSpan(written, n).CopyTo(writer.Buffer.Span);
            await writer.WriteAsync(n, _ct);
            written += n;
        }
    }

    /// <summary>Stages the pieces one append each, commits, and checks the blob whole and across the pieces' seams.</summary>
    private async Task<Digest> StageAndCommitAsync(IReadOnlyList<byte[]> pieces)
    {
        var id = NewId();
        long offset = 0;
        foreach (var piece in pieces)
        {
            await StageAsync(id, offset, piece);
            offset += piece.Length;
        }
        var whole = pieces.SelectMany(p => p).ToArray();
        var digest = Digest.Compute(whole);
        await Staging().CommitUploadAsync(id, whole.Length, digest, _ct);
        Assert.Equal(whole, await BlobReads.ReadAsync(Blobs(), digest, 0, whole.Length, _ct));
        long seam = 0;
        foreach (var piece in pieces.SkipLast(1))
        {
            seam += piece.Length;
            var from = Math.Max(0, seam - 3000);
            var length = Math.Min(whole.Length - from, 6000);
            Assert.Equal(whole.AsSpan((int)from, (int)length).ToArray(), await BlobReads.ReadAsync(Blobs(), digest, from, length, _ct));
        }
        Assert.Empty(await Bucket.KeysAsync($"uploads/{id}/"));
        Assert.Empty(await Bucket.MultipartAsync());
        return digest;
    }

    [Fact]
    public async Task PartsAboveAndBelowTheMinimumCompose()
    {
        await StageAndCommitAsync([RandomBytes(7 * MiB), RandomBytes(100 * 1024), RandomBytes(6 * MiB)]);
        await StageAndCommitAsync([RandomBytes(100 * 1024), RandomBytes(7 * MiB), RandomBytes(3), RandomBytes(5 * MiB), RandomBytes(9 * MiB + 1)]);
        await StageAndCommitAsync([RandomBytes(6 * MiB), RandomBytes(6 * MiB)]);
        await StageAndCommitAsync([RandomBytes(17 * MiB + 5)]);   // one append sent as a multipart upload of its own
    }

    [Fact]
    public async Task AThousandTinyAppendsCompose()
    {
        var pieces = Enumerable.Range(0, 1000).Select(i => RandomBytes(1 + i % 8 * 1600)).ToArray();
        Assert.True(pieces.Sum(p => p.Length) > 5 * MiB);
        await StageAndCommitAsync(pieces);
    }

    [Fact]
    public async Task AnAppendAtAnEarlierOffsetDiscardsWhatWasStagedPastIt()
    {
        var id = NewId();
        var first = RandomBytes(1000);
        await StageAsync(id, 0, first);
        await StageAsync(id, 1000, RandomBytes(9 * MiB));   // staged, never acknowledged
        await StageAsync(id, 1000 + 9 * MiB, RandomBytes(500));
        // An append that died part way: its multipart upload is still open.
        var interrupted = await Bucket.Open().Client.InitiateMultipartUploadAsync(
            new InitiateMultipartUploadRequest { BucketName = Bucket.Settings.Bucket, Key = S3Bucket.AppendKey(id, 2000 + 9 * MiB) });
        Assert.Single(await Bucket.MultipartAsync($"uploads/{id}/"));
        Assert.Equal(3, (await Bucket.KeysAsync($"uploads/{id}/")).Count);

        var second = RandomBytes(3000);
        await StageAsync(id, 1000, second);
        Assert.Equal([S3Bucket.AppendKey(id, 0), S3Bucket.AppendKey(id, 1000)], await Bucket.KeysAsync($"uploads/{id}/"));
        Assert.Empty(await Bucket.MultipartAsync($"uploads/{id}/"));
        Assert.NotNull(interrupted.UploadId);

        var whole = first.Concat(second).ToArray();
        await using (var read = await Staging().OpenUploadReadAsync(id, _ct))
        {
            var back = new MemoryStream();
            await read.CopyToAsync(back, _ct);
            Assert.Equal(whole, back.ToArray());
        }
        var digest = Digest.Compute(whole);
        await Staging().CommitUploadAsync(id, whole.Length, digest, _ct);
        Assert.Equal(whole, await BlobReads.ReadAsync(Blobs(), digest, 0, whole.Length, _ct));
    }

    [Fact]
    public async Task AnEmptyUploadReadsBackEmptyAndALostOneIsUnknown()
    {
        var id = NewId();
        await StageAsync(id, 0, []);
        await using (var read = await Staging().OpenUploadReadAsync(id, _ct))
        {
            Assert.Equal(0, await read.ReadAsync(new byte[10], _ct));
        }
        var e = await Assert.ThrowsAsync<RegistryException>(async () => await Staging().OpenUploadReadAsync(NewId(), _ct));
        Assert.Equal(ErrorCode.BlobUploadUnknown, e.Code);
    }

    [Fact]
    public async Task AnAppendThatStagedMoreThanWasAcknowledgedIsCutWhereTheNextBegins()
    {
        var id = NewId();
        var first = RandomBytes(6 * MiB);
        await StageAsync(id, 0, first);
        // Only 4 MiB of the first append were acknowledged; the next append continues from there.
        var second = RandomBytes(2 * MiB);
        await StageAsync(id, 4 * MiB, second);
        var whole = first[..(4 * MiB)].Concat(second).ToArray();
        var digest = Digest.Compute(whole);
        await Staging().CommitUploadAsync(id, whole.Length, digest, _ct);
        Assert.Equal(whole, await BlobReads.ReadAsync(Blobs(), digest, 0, whole.Length, _ct));
    }

    [Fact]
    public async Task ACommitRetriedAfterItSucceededKeepsTheBlob()
    {
        var id = NewId();
        var data = RandomBytes(6 * MiB + 10);
        await StageAsync(id, 0, data[..(3 * MiB)]);
        await StageAsync(id, 3 * MiB, data[(3 * MiB)..]);
        var digest = Digest.Compute(data);
        await Staging().CommitUploadAsync(id, data.Length, digest, _ct);
        await Staging().CommitUploadAsync(id, data.Length, digest, _ct);
        // A crash after the blob was published but before the staged objects were deleted: the retry finishes it.
        await StageAsync(id, 0, data);
        await Staging().CommitUploadAsync(id, data.Length, digest, _ct);
        Assert.Empty(await Bucket.KeysAsync("uploads/"));
        Assert.Equal([S3Bucket.BlobKey(digest)], await Bucket.KeysAsync("blobs/"));
        Assert.Equal(data, await BlobReads.ReadAsync(Blobs(), digest, 0, data.Length, _ct));
    }

    [Fact]
    public async Task RedirectsGiveAUrlThatAPlainGetWithARangeReads()
    {
        var data = RandomBytes(MiB + 7);
        var digest = Digest.Compute(data);
        await Blobs().PutAsync(digest, data, _ct);
        var store = Blobs(redirect: true);
        using var read = await store.ReadAsync(digest, 0, data.Length, _ct);
        Assert.NotNull(read);
        Assert.Null(read.Content);
        var url = read.Redirect!;
        Assert.Equal(new Uri(Bucket.Settings.Endpoint).Authority, url.Authority);
        Assert.DoesNotContain(Bucket.Settings.SecretKey, url.AbsoluteUri);

        using var http = new HttpClient();
        using var ranged = new HttpRequestMessage(HttpMethod.Get, url);
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1000, 200_999);
        using var partial = await http.SendAsync(ranged, _ct);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(data.AsSpan(1000, 200_000).ToArray(), await partial.Content.ReadAsByteArrayAsync(_ct));
        Assert.Equal(data, await http.GetByteArrayAsync(url, _ct));

        // Changing the signed URL's key must not read another object.
        var forged = new Uri(url.AbsoluteUri.Replace(digest.Hex, Digest.Compute("other"u8).Hex));
        using var refused = await http.GetAsync(forged, _ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        Assert.Null(await store.ReadAsync(Digest.Compute("absent"u8), 0, 6, _ct));
        Assert.Equal(data[..10], await store.GetAsync(digest, 10, _ct));   // small content is never redirected
    }

    [Fact]
    public async Task AnAbortRemovesEveryObjectOfTheUpload()
    {
        var id = NewId();
        var other = NewId();
        await StageAsync(id, 0, RandomBytes(1000));
        await StageAsync(id, 1000, RandomBytes(9 * MiB));
        await StageAsync(other, 0, RandomBytes(10));
        var interrupted = await Bucket.Open().Client.InitiateMultipartUploadAsync(
            new InitiateMultipartUploadRequest { BucketName = Bucket.Settings.Bucket, Key = S3Bucket.AppendKey(id, 1000 + 9 * MiB) });
        await Bucket.Open().Client.UploadPartAsync(new UploadPartRequest
        {
            BucketName = Bucket.Settings.Bucket, Key = interrupted.Key, UploadId = interrupted.UploadId, PartNumber = 1,
            InputStream = new MemoryStream(RandomBytes(5 * MiB)),
        });

        await Staging().DeleteUploadAsync(id, _ct);
        Assert.Empty(await Bucket.KeysAsync($"uploads/{id}/"));
        Assert.Empty(await Bucket.MultipartAsync($"uploads/{id}/"));
        Assert.Single(await Bucket.KeysAsync($"uploads/{other}/"));
    }

    [Fact]
    public async Task StaleListingIncludesInterruptedAppendsAndAbortsInterruptedCommits()
    {
        var id = NewId();
        await Bucket.Open().Client.InitiateMultipartUploadAsync(
            new InitiateMultipartUploadRequest { BucketName = Bucket.Settings.Bucket, Key = S3Bucket.AppendKey(id, 0) });
        await Bucket.Open().Client.InitiateMultipartUploadAsync(
            new InitiateMultipartUploadRequest { BucketName = Bucket.Settings.Bucket, Key = S3Bucket.BlobKey(Digest.Compute("x"u8)) });
        var staging = Staging();
        var ids = new List<string>();
        await foreach (var stale in staging.ListUploadsAsync(DateTimeOffset.UtcNow.AddMinutes(-1), _ct)) ids.Add(stale);
        Assert.Empty(ids);
        Assert.Single(await Bucket.MultipartAsync("blobs/"));   // too recent to be abandoned
        await foreach (var stale in staging.ListUploadsAsync(DateTimeOffset.UtcNow.AddMinutes(1), _ct)) ids.Add(stale);
        Assert.Equal([id], ids);
        Assert.Empty(await Bucket.MultipartAsync("blobs/"));
        await staging.DeleteUploadAsync(id, _ct);
        Assert.Empty(await Bucket.MultipartAsync());
    }
}

/// <summary>The composition plan alone: no S3 needed.</summary>
public sealed class S3CompositionPlanTests
{
    private const long Min = 5;

    [Theory]
    [InlineData(new long[] { 7, 1, 6 })]
    [InlineData(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 })]
    [InlineData(new long[] { 4, 5 })]
    [InlineData(new long[] { 4, 12, 2 })]
    [InlineData(new long[] { 3, 30, 3, 3, 3 })]
    [InlineData(new long[] { 5 })]
    [InlineData(new long[] { 2 })]
    [InlineData(new long[] { 9, 4, 9, 4 })]
    [InlineData(new long[] { 26 })]
    public void EveryPartButTheLastIsAtLeastTheMinimumAndTheBytesStayInOrder(long[] sizes)
    {
        var pieces = sizes.Select((s, i) => new Piece($"k{i}", s, 0, s)).ToList();
        var parts = S3UploadStaging.Plan(pieces, Min, maxCopy: 12, target: Min);
        foreach (var part in parts.SkipLast(1)) Assert.True(part.Length >= Min, $"a part of {part.Length}");
        foreach (var part in parts) Assert.True(part.Copy is not null ? part.Length <= 12 : part.Length < 2 * Min);
        // Replaying the parts yields every byte of every piece once, in order.
        var replay = parts.SelectMany(p => p.Copy is { } c ? [c] : p.Gathered)
            .SelectMany(p => Enumerable.Range((int)p.Start, (int)p.Length).Select(b => (p.Key, b))).ToList();
        var expected = pieces.SelectMany(p => Enumerable.Range(0, (int)p.Length).Select(b => (p.Key, b))).ToList();
        Assert.Equal(expected, replay);
    }

    [Fact]
    public void LargePiecesAreCopiedAndSmallOnesStreamed()
    {
        var parts = S3UploadStaging.Plan([new Piece("a", 7, 0, 7), new Piece("b", 1, 0, 1), new Piece("c", 12, 0, 12)], Min, 100, Min);
        Assert.Equal(3, parts.Count);
        Assert.Equal(new Piece("a", 7, 0, 7), parts[0].Copy);
        Assert.Equal([new Piece("b", 1, 0, 1), new Piece("c", 12, 0, 4)], parts[1].Gathered);
        Assert.Null(parts[1].Copy);
        Assert.Equal(new Piece("c", 12, 4, 8), parts[2].Copy);
        // When the rest of a large piece would be too small for a part of its own, the streamed part takes all of it.
        var absorbed = S3UploadStaging.Plan([new Piece("b", 1, 0, 1), new Piece("c", 6, 0, 6)], Min, 100, Min);
        Assert.Equal([new Piece("b", 1, 0, 1), new Piece("c", 6, 0, 6)], Assert.Single(absorbed).Gathered);
    }
}
