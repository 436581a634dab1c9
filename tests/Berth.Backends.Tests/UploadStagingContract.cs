using Berth.Core;
using Berth.Core.Storage;

namespace Berth.Backends.Tests;

/// <summary>
/// The <see cref="IUploadStaging"/> contract; every backend runs it through a subclass that opens its staging and
/// the <see cref="IBlobStore"/> that commits publish into.
/// </summary>
public abstract class UploadStagingContract : IDisposable
{
    protected readonly TempDirectory Temp = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    /// <summary>Staging over the same persistent state each time it is called (a restart, or another process).</summary>
    protected abstract IUploadStaging OpenStaging();

    /// <summary>The blob store the staging commits into.</summary>
    protected abstract IBlobStore OpenBlobs();

    public void Dispose() => Temp.Dispose();

    private static string NewId() => Guid.NewGuid().ToString("N");

    private static byte[] RandomBytes(int size)
    {
        var data = new byte[size];
        Random.Shared.NextBytes(data);
        return data;
    }

    private async Task<string> StageAsync(IUploadStaging staging, string id, long offset, byte[] data)
    {
        await using var writer = await staging.OpenUploadAsync(id, offset, _ct);
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

    private async Task<byte[]> ReadBackAsync(IUploadStaging staging, string id, long length)
    {
        await using var s = await staging.OpenUploadReadAsync(id, _ct);
        var data = new byte[length];
        await s.ReadExactlyAsync(data, _ct);
        return data;
    }

    private async Task<List<string>> ListAsync(IUploadStaging staging, DateTimeOffset cutoff)
    {
        var ids = new List<string>();
        await foreach (var id in staging.ListUploadsAsync(cutoff, _ct)) ids.Add(id);
        return ids;
    }

    private Task<byte[]?> BlobAsync(Digest digest, long length) => BlobReads.ReadWholeOrNullAsync(OpenBlobs(), digest, length, _ct);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(3 * 1024 * 1024 + 17)]
    public async Task ACommittedUploadIsVisibleWhole(int size)
    {
        var staging = OpenStaging();
        var data = RandomBytes(size);
        var id = await StageAsync(staging, NewId(), 0, data);
        var digest = Digest.Compute(data);
        Assert.Null(await BlobAsync(digest, size));
        await staging.CommitUploadAsync(id, data.Length, digest, _ct);
        Assert.Equal(data, await BlobAsync(digest, size));
    }

    [Fact]
    public async Task AppendsContinueAtTheOffsetAndDropAnInterruptedTail()
    {
        var staging = OpenStaging();
        var first = RandomBytes(5000);
        var second = RandomBytes(7000);
        var id = await StageAsync(staging, NewId(), 0, first);
        await StageAsync(staging, id, first.Length, [9, 9, 9]);   // written but never acknowledged
        await StageAsync(OpenStaging(), id, first.Length, second);   // resumed after a restart
        var whole = first.Concat(second).ToArray();
        var digest = Digest.Compute(whole);
        await OpenStaging().CommitUploadAsync(id, whole.Length, digest, _ct);
        Assert.Equal(whole, await BlobAsync(digest, whole.Length));
    }

    [Fact]
    public async Task ManyAppendsFromSeveralProcessesAddUp()
    {
        var parts = Enumerable.Range(0, 6).Select(i => RandomBytes(1000 + i * 70_001)).ToArray();
        var id = NewId();
        long offset = 0;
        foreach (var part in parts)
        {
            await StageAsync(OpenStaging(), id, offset, part);
            offset += part.Length;
        }
        var whole = parts.SelectMany(p => p).ToArray();
        Assert.Equal(whole, await ReadBackAsync(OpenStaging(), id, whole.Length));
        var digest = Digest.Compute(whole);
        await OpenStaging().CommitUploadAsync(id, whole.Length, digest, _ct);
        Assert.Equal(whole, await BlobAsync(digest, whole.Length));
    }

    [Fact]
    public async Task CommitPublishesOnlyTheAcknowledgedLength()
    {
        var staging = OpenStaging();
        var data = RandomBytes(10_000);
        var id = await StageAsync(staging, NewId(), 0, data);
        var digest = Digest.Compute(data.AsSpan(0, 6000));
        await staging.CommitUploadAsync(id, 6000, digest, _ct);
        Assert.Equal(data[..6000], await BlobAsync(digest, 10_000));
    }

    [Fact]
    public async Task UploadsCanBeReadBackForRehashing()
    {
        var staging = OpenStaging();
        var data = RandomBytes(2 * 1024 * 1024 + 3);
        var id = await StageAsync(staging, NewId(), 0, data);
        Assert.Equal(data, await ReadBackAsync(OpenStaging(), id, data.Length));
    }

    [Fact]
    public async Task CommittingAnExistingDigestKeepsTheStoredCopy()
    {
        var staging = OpenStaging();
        var data = "same content"u8.ToArray();
        var digest = Digest.Compute(data);
        await staging.CommitUploadAsync(await StageAsync(staging, NewId(), 0, data), data.Length, digest, _ct);
        var again = await StageAsync(staging, NewId(), 0, data);
        await staging.CommitUploadAsync(again, data.Length, digest, _ct);
        await OpenStaging().CommitUploadAsync(again, data.Length, digest, _ct);   // a retried completion is harmless
        Assert.Equal(data, await BlobAsync(digest, data.Length));
        Assert.DoesNotContain(again, await ListAsync(staging, DateTimeOffset.UtcNow.AddMinutes(1)));
    }

    [Fact]
    public async Task ReadersOfABlobSeeItWholeWhileTheSameDigestIsCommittedAgain()
    {
        var staging = OpenStaging();
        var data = RandomBytes(1 << 20);
        var digest = Digest.Compute(data);
        await staging.CommitUploadAsync(await StageAsync(staging, NewId(), 0, data), data.Length, digest, _ct);
        var ids = new List<string>();
        for (var i = 0; i < 4; i++) ids.Add(await StageAsync(staging, NewId(), 0, data));
        var commits = ids.Select(id => Task.Run(async () => await OpenStaging().CommitUploadAsync(id, data.Length, digest, _ct)));
        var reads = Enumerable.Range(0, 8).Select(_ => Task.Run(async () => Assert.Equal(data, await BlobAsync(digest, data.Length))));
        await Task.WhenAll(commits.Concat(reads));
    }

    [Fact]
    public async Task CommittingLostDataIsRefused()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => OpenStaging().CommitUploadAsync(NewId(), 3, Digest.Compute("abc"u8), _ct).AsTask());
        Assert.Equal(ErrorCode.BlobUploadUnknown, e.Code);
    }

    [Fact]
    public async Task AnAbortedUploadIsGoneAndAbortsAreIdempotent()
    {
        var staging = OpenStaging();
        var data = "to abort"u8.ToArray();
        var id = await StageAsync(staging, NewId(), 0, data);
        await staging.DeleteUploadAsync(id, _ct);
        await OpenStaging().DeleteUploadAsync(id, _ct);
        await OpenStaging().DeleteUploadAsync(NewId(), _ct);
        Assert.DoesNotContain(id, await ListAsync(staging, DateTimeOffset.UtcNow.AddMinutes(1)));
        var e = await Assert.ThrowsAsync<RegistryException>(() => staging.CommitUploadAsync(id, data.Length, Digest.Compute(data), _ct).AsTask());
        Assert.Equal(ErrorCode.BlobUploadUnknown, e.Code);
    }

    [Fact]
    public async Task ListsUploadsOlderThanACutoff()
    {
        var staging = OpenStaging();
        var id = await StageAsync(staging, NewId(), 0, [1, 2, 3]);
        Assert.Contains(id, await ListAsync(OpenStaging(), DateTimeOffset.UtcNow.AddMinutes(1)));
        Assert.DoesNotContain(id, await ListAsync(OpenStaging(), DateTimeOffset.UtcNow.AddMinutes(-1)));
    }

    [Fact]
    public async Task ACommittedUploadIsNoLongerListed()
    {
        var staging = OpenStaging();
        var data = RandomBytes(100);
        var id = await StageAsync(staging, NewId(), 0, data);
        await staging.CommitUploadAsync(id, data.Length, Digest.Compute(data), _ct);
        Assert.DoesNotContain(id, await ListAsync(staging, DateTimeOffset.UtcNow.AddMinutes(1)));
    }
}

public sealed class FileSystemUploadStagingTests : UploadStagingContract
{
    protected override IUploadStaging OpenStaging() => new FileSystemUploadStaging(new StoragePaths(Temp.Path));

    protected override IBlobStore OpenBlobs() => new FileSystemBlobStore(new StoragePaths(Temp.Path));
}
