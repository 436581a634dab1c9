using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Berth.Core.Metadata;
using Berth.Core.Storage;

namespace Berth.Core.Registry;

/// <summary>A piece of an upload as a request carries it: the body and what its headers declare.</summary>
public sealed record Chunk(Stream Body, long? RangeStart = null, long? RangeEnd = null, long? DeclaredLength = null);

/// <summary>
/// Blob upload sessions (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs).
/// The body is read once: each buffer goes to the SHA-256 hasher and to the upload's data. The hasher
/// lives in memory between chunks; when it is lost (restart, another node) the data is re-hashed at commit.
/// Appends and completions of one upload are serialised in this process and, through
/// <see cref="IUploadSessions.LockUploadAsync"/>, across the nodes sharing the metadata.
/// The session row records how many bytes the upload holds; bytes past it are discarded by the next append. A chunk
/// that fails in storage is not recorded. A chunk whose body is cut short (the client went away or stalled) keeps
/// the bytes that arrived: they are written, then recorded, so the client resumes from the status GET's Range instead
/// of sending a large layer again, as with distribution.
/// </summary>
public sealed class UploadService(IUploadStaging store, IUploadSessions metadata, IBlobClaims claims, TimeProvider time)
{
    private const int BufferSize = 1 << 20;
    private readonly ConcurrentDictionary<string, Progress> _progress = new(StringComparer.Ordinal);

    private sealed class Progress(IncrementalHash hash, long offset) : IDisposable
    {
        public readonly SemaphoreSlim Lock = new(1, 1);
        public IncrementalHash Hash = hash;
        public long Offset = offset;
        public bool Valid = true;

        public void Dispose() => Hash.Dispose();
    }

    public async Task<UploadSession> StartAsync(string repository, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var session = new UploadSession(Guid.NewGuid().ToString("N"), repository, 0, now, now);
        await using (await store.OpenUploadAsync(session.Id, 0, ct)) { }
        await metadata.CreateUploadAsync(session, ct);
        _progress[session.Id] = new Progress(IncrementalHash.CreateHash(HashAlgorithmName.SHA256), 0);
        return session;
    }

    /// <summary>The session, if it exists and belongs to <paramref name="repository"/>.</summary>
    public async Task<UploadSession> GetAsync(string repository, string id, CancellationToken ct)
    {
        var session = StoragePaths.IsUploadId(id) ? await metadata.GetUploadAsync(id, ct) : null;
        return session is not null && session.Repository == repository
            ? session
            : throw new RegistryException(ErrorCode.BlobUploadUnknown, "blob upload unknown", ErrorDetail.Of(("id", ErrorDetail.Clip(id))));
    }

    /// <summary>Appends a chunk; its Content-Range start must equal the acknowledged size.</summary>
    public async Task<UploadSession> AppendAsync(string repository, string id, Chunk chunk, CancellationToken ct)
    {
        var (session, progress, hold) = await EnterAsync(repository, id, ct);
        try
        {
            var (size, failure) = await AppendLockedAsync(session, progress, chunk, ct);
            var now = time.GetUtcNow();
            if (failure is null || size != session.Size)
            {
                // The request may be gone already; what arrived is recorded all the same.
                await metadata.UpdateUploadAsync(id, size, now, failure is null ? ct : CancellationToken.None);
            }
            failure?.Throw();
            return session with { Size = size, Updated = now };
        }
        finally
        {
            await LeaveAsync(progress, hold);
        }
    }

    /// <summary>
    /// Appends the <paramref name="last"/> chunk (when the completing request carries one), verifies the upload
    /// against <paramref name="expected"/> and commits it as a blob of the repository.
    /// Safe to repeat after a crash: once verified, the session records the digest, and a retried
    /// completion finishes the move and the metadata without the data.
    /// </summary>
    public async Task<long> CompleteAsync(string repository, string id, Digest expected, Chunk? last, CancellationToken ct)
    {
        var (session, progress, hold) = await EnterAsync(repository, id, ct);
        long size;
        string? claim = null;
        try
        {
            if (session.Committing is { } committed)
            {
                if (committed != expected)
                {
                    throw new RegistryException(ErrorCode.DigestInvalid, $"this upload was completed as {committed}", ErrorDetail.Of(("expected", expected.ToString()), ("actual", committed.ToString())));
                }
                claim = await BlobClaim.ClaimAsync(claims, expected, time, ct);
            }
            else
            {
                // The last chunk's size is not recorded on its own: until the digest is, a retry starts from the old size.
                if (last is not null)
                {
                    var (withLast, failure) = await AppendLockedAsync(session, progress, last, ct);
                    if (failure is not null)
                    {
                        progress.Valid = false;
                        failure.Throw();
                    }
                    session = session with { Size = withLast };
                }
                var actual = await DigestOfAsync(session, progress, expected.Algorithm, ct);
                if (actual != expected)
                {
                    await DeleteAsync(id, ct);
                    throw new RegistryException(ErrorCode.DigestInvalid, $"content has digest {actual}, not {expected}", ErrorDetail.Of(("expected", expected.ToString()), ("actual", actual.ToString())));
                }
                // Claimed before storage is touched: garbage collection cannot be deleting this digest while the commit
                // keeps an existing copy of it (dedupe), nor until the blob is recorded and linked.
                claim = await BlobClaim.ClaimAsync(claims, expected, time, ct);
                await metadata.MarkUploadCommittingAsync(id, session.Size, expected, ct);
            }
            await store.CommitUploadAsync(id, session.Size, expected, ct);
            await metadata.CompleteUploadAsync(session, expected, ct);
            size = session.Size;
        }
        finally
        {
            if (claim is not null) await claims.ReleaseClaimAsync(expected, claim, CancellationToken.None);
            await LeaveAsync(progress, hold);
        }
        Forget(id);
        return size;
    }

    /// <summary>Removes the session and its data if they still exist (after a failure nobody can resume from).</summary>
    public Task AbandonAsync(string id, CancellationToken ct) => DeleteAsync(id, ct);

    public async Task CancelAsync(string repository, string id, CancellationToken ct)
    {
        await GetAsync(repository, id, ct);
        await DeleteAsync(id, ct);
    }

    /// <summary>
    /// Removes sessions untouched for longer than <paramref name="maxIdle"/>, and upload data that no
    /// session owns any more (a crash between writing one and the other); returns how many.
    /// </summary>
    public async Task<int> ExpireAsync(TimeSpan maxIdle, CancellationToken ct)
    {
        var cutoff = time.GetUtcNow() - maxIdle;
        var stale = await metadata.ListUploadsUpdatedBeforeAsync(cutoff, ct);
        foreach (var session in stale) await DeleteAsync(session.Id, ct);
        var removed = stale.Count;
        // Hashers of uploads that another node completed or cancelled.
        foreach (var id in _progress.Keys)
        {
            if (await metadata.GetUploadAsync(id, ct) is null) Forget(id);
        }
        await foreach (var id in store.ListUploadsAsync(cutoff, ct))
        {
            if (await metadata.GetUploadAsync(id, ct) is not null) continue;
            await store.DeleteUploadAsync(id, ct);
            removed++;
        }
        return removed;
    }

    private async Task DeleteAsync(string id, CancellationToken ct)
    {
        Forget(id);
        await metadata.DeleteUploadAsync(id, ct);
        await store.DeleteUploadAsync(id, ct);
    }

    /// <summary>
    /// Takes the upload's lock in this process, then in the metadata (other nodes), and reads its session under both. The
    /// session is checked first, so requests for made-up ids leave no hasher behind and cannot grow the table.
    /// </summary>
    private async Task<(UploadSession Session, Progress Progress, IAsyncDisposable Hold)> EnterAsync(string repository, string id, CancellationToken ct)
    {
        await GetAsync(repository, id, ct);
        var progress = _progress.GetOrAdd(id, static _ => new Progress(IncrementalHash.CreateHash(HashAlgorithmName.SHA256), -1));
        await progress.Lock.WaitAsync(ct);
        IAsyncDisposable? hold = null;
        try
        {
            hold = await metadata.LockUploadAsync(id, ct);
            var session = await GetAsync(repository, id, ct);
            // A hasher new to this process can follow an upload that holds nothing yet (started on another node).
            if (progress.Offset < 0 && session.Size == 0) progress.Offset = 0;
            return (session, progress, hold);
        }
        catch
        {
            await LeaveAsync(progress, hold);
            throw;
        }
    }

    private static async Task LeaveAsync(Progress progress, IAsyncDisposable? hold)
    {
        try
        {
            if (hold is not null) await hold.DisposeAsync();
        }
        finally
        {
            progress.Lock.Release();
        }
    }

    private void Forget(string id)
    {
        if (_progress.TryRemove(id, out var progress)) progress.Dispose();
    }

    /// <summary>
    /// Streams the chunk into the upload and returns the new size. The caller holds the upload's lock. When the body
    /// fails part way, the bytes read before are written and hashed all the same, and the failure is returned with
    /// the size that includes them, for the caller to record or drop.
    /// </summary>
    private async Task<(long Size, ExceptionDispatchInfo? BodyFailure)> AppendLockedAsync(UploadSession session, Progress progress, Chunk chunk, CancellationToken ct)
    {
        if (session.Committing is not null) throw new RegistryException(ErrorCode.BlobUploadInvalid, "the upload is already being completed");
        if (chunk.RangeStart is { } start && start != session.Size)
        {
            throw new RegistryException(ErrorCode.RangeInvalid, $"chunk starts at {start} but the upload has {session.Size} bytes", ErrorDetail.Of(("size", session.Size.ToString())));
        }
        if (chunk.RangeStart is { } s && chunk.RangeEnd is { } e && chunk.DeclaredLength is { } l && e - s + 1 != l)
        {
            throw new RegistryException(ErrorCode.RangeInvalid, "Content-Range does not match Content-Length", ErrorDetail.Of(("size", session.Size.ToString())));
        }
        var hashing = progress.Valid && progress.Offset == session.Size;
        long written = 0;
        ExceptionDispatchInfo? failure = null;
        try
        {
            await using var writer = await store.OpenUploadAsync(session.Id, session.Size, ct);
            while (failure is null)
            {
                (var n, failure) = await ReadFullAsync(chunk.Body, writer.Buffer, ct);
                if (n == 0) break;
                if (hashing) progress.Hash.AppendData(writer.Buffer.Span[..n]);
                await writer.WriteAsync(n, failure is null ? ct : CancellationToken.None);
                written += n;
            }
        }
        catch
        {
            // The hasher saw bytes that were not acknowledged: it no longer matches the data.
            progress.Valid = false;
            throw;
        }
        if (failure is null && chunk.DeclaredLength is { } declared && declared != written)
        {
            progress.Valid = false;
            throw new RegistryException(ErrorCode.SizeInvalid, $"received {written} bytes but Content-Length said {declared}");
        }
        var size = session.Size + written;
        if (hashing) progress.Offset = size; else progress.Valid = false;
        return (size, failure);
    }

    /// <summary>The digest from the running hasher when it saw every byte, else by reading the data back.</summary>
    private async Task<Digest> DigestOfAsync(UploadSession session, Progress progress, string algorithm, CancellationToken ct) =>
        progress.Valid && progress.Offset == session.Size && algorithm == "sha256"
            ? Digest.FromHash("sha256", progress.Hash.GetHashAndReset())
            : await RehashAsync(session.Id, session.Size, algorithm, ct);

    private async Task<Digest> RehashAsync(string id, long length, string algorithm, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(Digest.HashName(algorithm));
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            await using var stream = await store.OpenUploadReadAsync(id, ct);
            var remaining = length;
            while (remaining > 0)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), ct);
                if (n == 0) throw new InvalidDataException($"upload {id} has fewer bytes than its session records");
                hash.AppendData(buffer, 0, n);
                remaining -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Digest.FromHash(algorithm, hash.GetHashAndReset());
    }

    /// <summary>
    /// Fills the buffer as far as the stream allows, so hashing and disk writes work on large blocks. A failure of the
    /// body comes back with the count of the bytes read before it, so they are not lost with it.
    /// </summary>
    private static async ValueTask<(int Count, ExceptionDispatchInfo? Failure)> ReadFullAsync(Stream body, Memory<byte> buffer, CancellationToken ct)
    {
        var total = 0;
        try
        {
            while (total < buffer.Length)
            {
                var n = await body.ReadAsync(buffer[total..], ct);
                if (n == 0) break;
                total += n;
            }
        }
        catch (Exception e)
        {
            return (total, ExceptionDispatchInfo.Capture(e));
        }
        return (total, null);
    }
}
