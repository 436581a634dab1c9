using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Storage;
using Berth.Metadata;

namespace Berth.Core.Tests;

/// <summary>Upload sessions over the real filesystem store and SQLite, in a temporary directory.</summary>
public sealed class UploadServiceTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-upload-").FullName;
    private readonly CancellationToken _ct = CancellationToken.None;
    private FileSystemBlobStore _blobs = null!;
    private FileSystemUploadStaging _staging = null!;
    private SqliteUploadSessions _metadata = null!;
    private SqliteBlobLinks _links = null!;
    private SqliteGarbage _claims = null!;

    public async Task InitializeAsync()
    {
        _blobs = new FileSystemBlobStore(new StoragePaths(_dir));
        _staging = new FileSystemUploadStaging(new StoragePaths(_dir));
        var db = await SqliteDatabase.OpenAsync(Path.Combine(_dir, "berth.db"), TimeProvider.System, _ct);
        _metadata = new SqliteUploadSessions(db);
        _links = new SqliteBlobLinks(db);
        _claims = new SqliteGarbage(db);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    private UploadService NewService() => new(_staging, _metadata, _claims, TimeProvider.System);

    private static MemoryStream Body(byte[] data) => new(data);

    [Fact]
    public async Task ChunksAreAppendedHashedAndCommitted()
    {
        var uploads = NewService();
        var data = new byte[3 * 1024 * 1024 + 5];
        Random.Shared.NextBytes(data);
        var session = await uploads.StartAsync("team/app", _ct);
        var first = await uploads.AppendAsync("team/app", session.Id, new Chunk(Body(data[..1000]), 0, 999, 1000), _ct);
        Assert.Equal(1000, first.Size);
        await uploads.AppendAsync("team/app", session.Id, new Chunk(Body(data[1000..]), 1000, data.Length - 1, data.Length - 1000), _ct);
        var digest = Digest.Compute(data);
        Assert.Equal(data.Length, await uploads.CompleteAsync("team/app", session.Id, digest, null, _ct));
        Assert.Equal(data.Length, await _links.GetLinkedBlobAsync("team/app", digest, _ct));
        Assert.Null(await _metadata.GetUploadAsync(session.Id, _ct));
    }

    [Fact]
    public async Task ChunksAlternatingBetweenTwoNodesAreSerialisedAndCommitCorrectly()
    {
        // Two services over the same stores stand for two nodes: each has its own hashers and in-process locks.
        var (a, b) = (NewService(), NewService());
        var data = new byte[40 * 64 * 1024];
        Random.Shared.NextBytes(data);
        var session = await b.StartAsync("team/app", _ct);
        const int Chunk = 64 * 1024;
        for (var i = 0; i < 40; i++)
        {
            var node = i % 2 == 0 ? a : b;
            await node.AppendAsync("team/app", session.Id, new Chunk(Body(data[(i * Chunk)..((i + 1) * Chunk)]), i * Chunk, (i + 1) * Chunk - 1, Chunk), _ct);
        }
        // Two appends of the same next range at once, one per node: one is taken, the other refused after it (not interleaved).
        var extra = new byte[Chunk];
        var racing = await Task.WhenAll(new[] { a, b }.Select(async node =>
        {
            try
            {
                await node.AppendAsync("team/app", session.Id, new Chunk(Body(extra), data.Length, data.Length + Chunk - 1, Chunk), _ct);
                return true;
            }
            catch (RegistryException e) when (e.Code == ErrorCode.RangeInvalid)
            {
                return false;
            }
        }));
        Assert.Single(racing, ok => ok);
        var all = data.Concat(extra).ToArray();
        Assert.Equal(all.Length, await a.CompleteAsync("team/app", session.Id, Digest.Compute(all), null, _ct));
        Assert.Equal(all.Length, await _links.GetLinkedBlobAsync("team/app", Digest.Compute(all), _ct));
    }

    [Fact]
    public async Task AChunkOutOfOrderIsRefusedAndChangesNothing()
    {
        var uploads = NewService();
        var session = await uploads.StartAsync("team/app", _ct);
        await uploads.AppendAsync("team/app", session.Id, new Chunk(Body([1, 2, 3]), 0, 2, 3), _ct);
        var e = await Assert.ThrowsAsync<RegistryException>(() => uploads.AppendAsync("team/app", session.Id, new Chunk(Body([4]), 5, 5, 1), _ct));
        Assert.Equal(ErrorCode.RangeInvalid, e.Code);
        Assert.Equal(3, (await uploads.GetAsync("team/app", session.Id, _ct)).Size);
    }

    [Fact]
    public async Task ABodyShorterThanDeclaredIsNotAcknowledged()
    {
        var uploads = NewService();
        var session = await uploads.StartAsync("team/app", _ct);
        var e = await Assert.ThrowsAsync<RegistryException>(() => uploads.AppendAsync("team/app", session.Id, new Chunk(Body([1, 2, 3]), null, null, 10), _ct));
        Assert.Equal(ErrorCode.SizeInvalid, e.Code);
        Assert.Equal(0, (await uploads.GetAsync("team/app", session.Id, _ct)).Size);
    }

    [Fact]
    public async Task ALostHasherIsReplacedByRehashing()
    {
        var data = "content sent before a restart"u8.ToArray();
        var session = await NewService().StartAsync("team/app", _ct);
        await NewService().AppendAsync("team/app", session.Id, new Chunk(Body(data), null, null, data.Length), _ct);
        var digest = Digest.Compute(data);
        await NewService().CompleteAsync("team/app", session.Id, digest, null, _ct);
        Assert.Equal(data.Length, await _links.GetLinkedBlobAsync("team/app", digest, _ct));
    }

    [Fact]
    public async Task Sha512DigestsAreVerified()
    {
        var uploads = NewService();
        var data = "sha512 content"u8.ToArray();
        var session = await uploads.StartAsync("team/app", _ct);
        await uploads.AppendAsync("team/app", session.Id, new Chunk(Body(data), null, null, data.Length), _ct);
        var digest = Digest.Compute(data, "sha512");
        await uploads.CompleteAsync("team/app", session.Id, digest, null, _ct);
        Assert.Equal(data.Length, await _links.GetLinkedBlobAsync("team/app", digest, _ct));
    }

    [Fact]
    public async Task ADigestThatLiesStoresNothing()
    {
        var uploads = NewService();
        var session = await uploads.StartAsync("team/app", _ct);
        await uploads.AppendAsync("team/app", session.Id, new Chunk(Body([1, 2, 3]), null, null, 3), _ct);
        var claimed = Digest.Compute([9, 9, 9]);
        var e = await Assert.ThrowsAsync<RegistryException>(() => uploads.CompleteAsync("team/app", session.Id, claimed, null, _ct));
        Assert.Equal(ErrorCode.DigestInvalid, e.Code);
        Assert.Null(await _links.GetLinkedBlobAsync("team/app", claimed, _ct));
        Assert.Null(await _blobs.ReadAsync(claimed, 0, 3, _ct));
        Assert.Null(await _metadata.GetUploadAsync(session.Id, _ct));
    }

    [Fact]
    public async Task ACompletionInterruptedAfterTheMoveIsFinishedOnRetry()
    {
        var uploads = NewService();
        var data = "committed then crashed"u8.ToArray();
        var digest = Digest.Compute(data);
        var session = await uploads.StartAsync("team/app", _ct);
        await uploads.AppendAsync("team/app", session.Id, new Chunk(Body(data), null, null, data.Length), _ct);
        // What a crash leaves behind: digest recorded, data moved into the store, metadata not yet updated.
        await _metadata.MarkUploadCommittingAsync(session.Id, data.Length, digest, _ct);
        await _staging.CommitUploadAsync(session.Id, data.Length, digest, _ct);

        await NewService().CompleteAsync("team/app", session.Id, digest, null, _ct);
        Assert.Equal(data.Length, await _links.GetLinkedBlobAsync("team/app", digest, _ct));
    }

    [Fact]
    public async Task TheLastChunkCanCompleteTheUpload()
    {
        var uploads = NewService();
        var data = RandomBytes(5000);
        var session = await uploads.StartAsync("team/app", _ct);
        await uploads.AppendAsync("team/app", session.Id, new Chunk(Body(data[..2000]), 0, 1999, 2000), _ct);
        var digest = Digest.Compute(data);
        Assert.Equal(5000, await uploads.CompleteAsync("team/app", session.Id, digest, new Chunk(Body(data[2000..]), 2000, 4999, 3000), _ct));
        Assert.Equal(5000, await _links.GetLinkedBlobAsync("team/app", digest, _ct));
    }

    [Fact]
    public async Task ALastChunkThatFailsTheDigestLeavesNothing()
    {
        var uploads = NewService();
        var session = await uploads.StartAsync("team/app", _ct);
        var claimed = Digest.Compute("something else"u8);
        var e = await Assert.ThrowsAsync<RegistryException>(() => uploads.CompleteAsync("team/app", session.Id, claimed, new Chunk(Body([1, 2, 3])), _ct));
        Assert.Equal(ErrorCode.DigestInvalid, e.Code);
        Assert.Null(await _metadata.GetUploadAsync(session.Id, _ct));
        Assert.Null(await _links.GetLinkedBlobAsync("team/app", claimed, _ct));
    }

    private static byte[] RandomBytes(int size)
    {
        var data = new byte[size];
        Random.Shared.NextBytes(data);
        return data;
    }

    [Fact]
    public async Task SessionsBelongToTheirRepository()
    {
        var uploads = NewService();
        var session = await uploads.StartAsync("team/app", _ct);
        Assert.Equal(ErrorCode.BlobUploadUnknown, (await Assert.ThrowsAsync<RegistryException>(() => uploads.GetAsync("team/other", session.Id, _ct))).Code);
        Assert.Equal(ErrorCode.BlobUploadUnknown, (await Assert.ThrowsAsync<RegistryException>(() => uploads.GetAsync("team/app", "../../etc/passwd", _ct))).Code);
    }

    [Fact]
    public async Task IdleSessionsAndOrphanDataExpire()
    {
        var uploads = NewService();
        var session = await uploads.StartAsync("team/app", _ct);
        Assert.Equal(0, await uploads.ExpireAsync(TimeSpan.FromHours(1), _ct));
        Assert.Equal(1, await uploads.ExpireAsync(TimeSpan.FromMinutes(-1), _ct));
        Assert.Null(await _metadata.GetUploadAsync(session.Id, _ct));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "uploads")));
    }
}
