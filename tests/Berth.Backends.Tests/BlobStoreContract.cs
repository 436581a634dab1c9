using System.Text;
using Berth.Core;
using Berth.Core.Storage;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IBlobStore"/> contract; every backend runs it through a one-constructor subclass.</summary>
public abstract class BlobStoreContract : IDisposable
{
    protected readonly TempDirectory Temp = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    /// <summary>A store over the same persistent state each time it is called (a restart, or another process).</summary>
    protected abstract IBlobStore Open();

    public void Dispose() => Temp.Dispose();

    private async Task<(Digest Digest, byte[] Data)> PutRandomAsync(IBlobStore store, int size)
    {
        var data = new byte[size];
        Random.Shared.NextBytes(data);
        var digest = Digest.Compute(data);
        await store.PutAsync(digest, data, _ct);
        return (digest, data);
    }

    [Fact]
    public async Task AMissingBlobReadsAsNull()
    {
        var store = Open();
        var absent = Digest.Compute("absent"u8);
        Assert.Null(await store.ReadAsync(absent, 0, 6, _ct));
        Assert.Null(await store.GetAsync(absent, 6, _ct));
    }

    [Fact]
    public async Task ListingNamesEveryStoredBlobInDigestOrderWithItsSize()
    {
        var store = Open();
        var before = DateTimeOffset.UtcNow.AddMinutes(-5);
        var put = new List<(Digest Digest, byte[] Data)>();
        for (var i = 0; i < 40; i++) put.Add(await PutRandomAsync(store, 1 + i * 37));
        var listed = new List<StoredBlob>();
        await foreach (var b in Open().ListAsync(_ct)) listed.Add(b);
        Assert.Equal(put.Select(p => p.Digest.ToString()).Order(StringComparer.Ordinal), listed.Select(b => b.Digest.ToString()));
        foreach (var (digest, data) in put)
        {
            var found = listed.Single(b => b.Digest == digest);
            Assert.Equal(data.Length, found.Size);
            Assert.InRange(found.Written, before, DateTimeOffset.UtcNow.AddMinutes(5));
        }
        await store.DeleteAsync(put[7].Digest, _ct);
        var after = new List<Digest>();
        await foreach (var b in Open().ListAsync(_ct)) after.Add(b.Digest);
        Assert.Equal(39, after.Count);
        Assert.DoesNotContain(put[7].Digest, after);
    }

    [Fact]
    public async Task PutThenRead()
    {
        var store = Open();
        var content = Encoding.UTF8.GetBytes("{\"schemaVersion\":2}");
        var digest = Digest.Compute(content);
        await store.PutAsync(digest, content, _ct);
        Assert.Equal(content, await BlobReads.ReadAsync(store, digest, 0, content.Length, _ct));
        Assert.Equal(content, await BlobReads.ReadAsync(Open(), digest, 0, content.Length, _ct));
        Assert.Equal(content, await Open().GetAsync(digest, content.Length, _ct));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 1)]
    [InlineData(0, 300_000)]
    [InlineData(1, 299_999)]
    [InlineData(4095, 4098)]
    [InlineData(299_999, 1)]
    [InlineData(65_536, 131_072)]
    [InlineData(300_000, 0)]
    public async Task ReadsTheRangeAskedFor(int offset, int length)
    {
        var store = Open();
        var (digest, data) = await PutRandomAsync(store, 300_000);
        Assert.Equal(data.AsSpan(offset, length).ToArray(), await BlobReads.ReadAsync(store, digest, offset, length, _ct));
    }

    [Fact]
    public async Task AReadPastTheEndYieldsOnlyWhatIsStored()
    {
        var store = Open();
        var (digest, data) = await PutRandomAsync(store, 1000);
        Assert.Equal(data[900..], await BlobReads.ReadAsync(store, digest, 900, 500, _ct));
        Assert.Empty(await BlobReads.ReadAsync(store, digest, 1000, 10, _ct));
        Assert.Empty(await BlobReads.ReadAsync(store, digest, 5000, 10, _ct));
    }

    [Fact]
    public async Task GetReadsTheFirstBytesAndRefusesAShorterBlob()
    {
        var store = Open();
        var (digest, data) = await PutRandomAsync(store, 100);
        Assert.Equal(data[..40], await store.GetAsync(digest, 40, _ct));
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await store.GetAsync(digest, 101, _ct));
    }

    [Fact]
    public async Task PuttingAStoredDigestAgainKeepsIt()
    {
        var store = Open();
        var (digest, data) = await PutRandomAsync(store, 5000);
        await Open().PutAsync(digest, data, _ct);
        Assert.Equal(data, await BlobReads.ReadAsync(store, digest, 0, data.Length, _ct));
    }

    [Fact]
    public async Task DeletingADigestNeverStoredIsHarmless()
    {
        var store = Open();
        var never = Digest.Compute(Guid.NewGuid().ToByteArray());
        await store.DeleteAsync(never, _ct);
        Assert.Null(await store.ReadAsync(never, 0, 0, _ct));
    }

    [Fact]
    public async Task DeletesAreIdempotent()
    {
        var store = Open();
        var (digest, _) = await PutRandomAsync(store, 10);
        await store.DeleteAsync(digest, _ct);
        await Open().DeleteAsync(digest, _ct);
        Assert.Null(await store.ReadAsync(digest, 0, 10, _ct));
        Assert.Null(await store.GetAsync(digest, 10, _ct));
    }

    [Fact]
    public async Task ConcurrentReadersEachGetTheirRange()
    {
        var store = Open();
        var (digest, data) = await PutRandomAsync(store, 1 << 20);
        var reads = Enumerable.Range(0, 32).Select(i => Task.Run(async () =>
        {
            var offset = i * 30_011;
            var length = Math.Min(200_000, data.Length - offset);
            Assert.Equal(data.AsSpan(offset, length).ToArray(), await BlobReads.ReadAsync(i % 2 == 0 ? store : Open(), digest, offset, length, _ct));
        }));
        await Task.WhenAll(reads);
    }
}

/// <summary>Reading a blob's bytes back in tests. Suites run with redirects off; a redirecting backend tests those itself.</summary>
internal static class BlobReads
{
    public static async Task<byte[]> ReadAsync(IBlobStore store, Digest digest, long offset, long length, CancellationToken ct)
    {
        using var read = await store.ReadAsync(digest, offset, length, ct);
        Assert.NotNull(read);
        Assert.Null(read.Redirect);
        using var copy = new MemoryStream();
        // Small reads, as a response body copy asks for them, so a stream that ignores its window shows.
        var buffer = new byte[7919];
        int n;
        while ((n = await read.Content!.ReadAsync(buffer, ct)) > 0) copy.Write(buffer, 0, n);
        return copy.ToArray();
    }

    public static async Task<byte[]?> ReadWholeOrNullAsync(IBlobStore store, Digest digest, long length, CancellationToken ct)
    {
        using var read = await store.ReadAsync(digest, 0, length, ct);
        if (read is null) return null;
        using var copy = new MemoryStream();
        await read.Content!.CopyToAsync(copy, ct);
        return copy.ToArray();
    }
}

public sealed class FileSystemBlobStoreTests : BlobStoreContract
{
    protected override IBlobStore Open() => new FileSystemBlobStore(new StoragePaths(Temp.Path));
}
