using System.Text;
using Berth.Core;
using Berth.Core.Storage;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IBlobStore"/> contract; every backend runs it through a one-constructor subclass.</summary>
public abstract class BlobStoreContract : IDisposable
{
    protected readonly TempDirectory Temp = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    /// <summary>A store over the same persistent state each time it is called (a restart).</summary>
    protected abstract IBlobStore Open();

    public void Dispose() => Temp.Dispose();

    private static string NewId() => Guid.NewGuid().ToString("N");

    private async Task<string> UploadAsync(IBlobStore store, string id, long offset, byte[] data)
    {
        await using var writer = await store.OpenUploadAsync(id, offset, _ct);
        var written = 0;
        while (written < data.Length)
        {
            var n = Math.Min(writer.Buffer.Length, data.Length - written);
            data.AsSpan(written, n).CopyTo(writer.Buffer.Span);
            await writer.WriteAsync(n, _ct);
            written += n;
        }
        return id;
    }

    private async Task<byte[]?> ReadAsync(IBlobStore store, Digest digest)
    {
        await using var s = await store.OpenReadAsync(digest, _ct);
        if (s is null) return null;
        using var copy = new MemoryStream();
        await s.CopyToAsync(copy, _ct);
        return copy.ToArray();
    }

    [Fact]
    public async Task AMissingBlobReadsAsNull()
    {
        Assert.Null(await ReadAsync(Open(), Digest.Compute("absent"u8)));
    }

    [Fact]
    public async Task PutThenRead()
    {
        var store = Open();
        var content = Encoding.UTF8.GetBytes("{\"schemaVersion\":2}");
        var digest = Digest.Compute(content);
        await store.PutAsync(digest, content, _ct);
        Assert.Equal(content, await ReadAsync(store, digest));
        Assert.Equal(content, await ReadAsync(Open(), digest));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(3 * 1024 * 1024 + 17)]
    public async Task ACommittedUploadIsVisibleWhole(int size)
    {
        var store = Open();
        var data = Random.Shared.GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), size);
        var id = await UploadAsync(store, NewId(), 0, data);
        var digest = Digest.Compute(data);
        Assert.Null(await ReadAsync(store, digest));
        await store.CommitUploadAsync(id, data.Length, digest, _ct);
        Assert.Equal(data, await ReadAsync(store, digest));
    }

    [Fact]
    public async Task AppendsContinueAtTheOffsetAndDropAnInterruptedTail()
    {
        var store = Open();
        var first = new byte[5000];
        var second = new byte[7000];
        Random.Shared.NextBytes(first);
        Random.Shared.NextBytes(second);
        var id = await UploadAsync(store, NewId(), 0, first);
        await UploadAsync(store, id, first.Length, [9, 9, 9]);   // written but never acknowledged
        await UploadAsync(Open(), id, first.Length, second);      // resumed after a restart
        var whole = first.Concat(second).ToArray();
        var digest = Digest.Compute(whole);
        await Open().CommitUploadAsync(id, whole.Length, digest, _ct);
        Assert.Equal(whole, await ReadAsync(store, digest));
    }

    [Fact]
    public async Task CommittingAnExistingDigestKeepsTheStoredCopy()
    {
        var store = Open();
        var data = "same content"u8.ToArray();
        var digest = Digest.Compute(data);
        await store.CommitUploadAsync(await UploadAsync(store, NewId(), 0, data), data.Length, digest, _ct);
        var again = await UploadAsync(store, NewId(), 0, data);
        await store.CommitUploadAsync(again, data.Length, digest, _ct);
        await store.CommitUploadAsync(again, data.Length, digest, _ct);   // a retried completion is harmless
        Assert.Equal(data, await ReadAsync(store, digest));
    }

    [Fact]
    public async Task CommittingLostDataIsRefused()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => Open().CommitUploadAsync(NewId(), 3, Digest.Compute("abc"u8), _ct).AsTask());
        Assert.Equal(ErrorCode.BlobUploadUnknown, e.Code);
    }

    [Fact]
    public async Task DeletingADigestNeverStoredIsHarmless()
    {
        var store = Open();
        var never = Digest.Compute(Guid.NewGuid().ToByteArray());
        await store.DeleteAsync(never, _ct);
        Assert.Null(await ReadAsync(store, never));
    }

    [Fact]
    public async Task UploadsCanBeReadBackForRehashing()
    {
        var store = Open();
        var id = await UploadAsync(store, NewId(), 0, "partial data"u8.ToArray());
        await using var s = await Open().OpenUploadReadAsync(id, _ct);
        using var reader = new StreamReader(s);
        Assert.Equal("partial data", await reader.ReadToEndAsync(_ct));
    }

    [Fact]
    public async Task DeletesAreIdempotent()
    {
        var store = Open();
        var data = "to delete"u8.ToArray();
        var digest = Digest.Compute(data);
        await store.PutAsync(digest, data, _ct);
        await store.DeleteAsync(digest, _ct);
        await store.DeleteAsync(digest, _ct);
        Assert.Null(await ReadAsync(store, digest));
        var id = await UploadAsync(store, NewId(), 0, data);
        await store.DeleteUploadAsync(id, _ct);
        await store.DeleteUploadAsync(id, _ct);
    }

    [Fact]
    public async Task ListsUploadsOlderThanACutoff()
    {
        var store = Open();
        var id = await UploadAsync(store, NewId(), 0, [1, 2, 3]);
        var old = new List<string>();
        await foreach (var u in store.ListUploadsAsync(DateTimeOffset.UtcNow.AddMinutes(1), _ct)) old.Add(u);
        Assert.Contains(id, old);
        var none = new List<string>();
        await foreach (var u in store.ListUploadsAsync(DateTimeOffset.UtcNow.AddMinutes(-1), _ct)) none.Add(u);
        Assert.DoesNotContain(id, none);
    }
}

public sealed class FileSystemBlobStoreTests : BlobStoreContract
{
    protected override IBlobStore Open() => new FileSystemBlobStore(new StoragePaths(Temp.Path));
}
