using System.Buffers;
using Amazon.S3.Model;
using Berth.Core;
using Berth.Core.Storage;

namespace Berth.Storage.S3;

/// <summary>
/// Uploads staged in S3, one object per append (<c>uploads/&lt;id&gt;/&lt;offset&gt;</c>, layout in <see cref="S3Bucket"/>), so an
/// upload's whole state is in the bucket and any process can continue, read or commit it:
/// <list type="bullet">
/// <item>An append at offset X first deletes the objects at X and beyond and aborts the multipart uploads of
/// interrupted appends; then it writes one object at X: a PUT when it fits in <see cref="S3Bucket.PartSize"/>, else a
/// multipart upload of that key, one part per full buffer (two buffers: one fills while the other is sent).</item>
/// <item>The data is the objects in offset order, each cut where the next begins (an append that staged more than was
/// acknowledged is overlapped by the next), up to the acknowledged length.</item>
/// <item>Commit composes that into <c>blobs/&lt;alg&gt;/&lt;hex&gt;</c> without passing big pieces through this process:
/// a single object is copied server-side; otherwise a multipart upload of the blob key takes every piece of at least
/// 5 MiB by server-side part copy and concatenates the small pieces between them (topped up from a neighbour to the
/// 5 MiB minimum) through one bounded buffer (see <see cref="Plan"/>). Completing it publishes the blob whole.
/// An existing blob is kept (dedupe); the staged objects are deleted last, so a retried commit finds either them or
/// the blob.</item>
/// <item><see cref="ListUploadsAsync"/> also aborts compositions (multipart uploads under <c>blobs/</c>) begun before
/// the cutoff: a process that died while committing leaves one, and its retry starts another.</item>
/// </list>
/// </summary>
public sealed class S3UploadStaging(S3Bucket bucket) : IUploadStaging
{
    /// <summary>Server-side part copies a commit runs at once.</summary>
    private const int ConcurrentCopies = 4;

    public async ValueTask<IUploadWriter> OpenUploadAsync(string id, long offset, CancellationToken ct)
    {
        CheckId(id);
        await DiscardFromAsync(id, offset, ct);
        return new S3UploadWriter(bucket, S3Bucket.AppendKey(id, offset), writeEmpty: offset == 0);
    }

    public async ValueTask<Stream> OpenUploadReadAsync(string id, CancellationToken ct)
    {
        CheckId(id);
        var staged = await StagedAsync(id, ct);
        if (staged.Count == 0) throw Gone(id);
        return new PiecesStream(bucket, Pieces(staged, long.MaxValue, id, exact: false));
    }

    public async ValueTask CommitUploadAsync(string id, long length, Digest digest, CancellationToken ct)
    {
        CheckId(id);
        var key = S3Bucket.BlobKey(digest);
        if (await bucket.SizeAsync(key, ct) is null)
        {
            var staged = await StagedAsync(id, ct);
            if (staged.Count == 0)
            {
                // A commit that published the blob and deleted the upload may race with its retry: look once more.
                if (await bucket.SizeAsync(key, ct) is not null) return;
                throw Gone(id);
            }
            await ComposeAsync(key, Pieces(staged, length, id, exact: true), length, ct);
        }
        await DeleteUploadAsync(id, ct);
    }

    public async ValueTask DeleteUploadAsync(string id, CancellationToken ct)
    {
        CheckId(id);
        await DiscardFromAsync(id, 0, ct);
    }

    public async IAsyncEnumerable<string> ListUploadsAsync(DateTimeOffset cutoff, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var latest = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        void Seen(string key, DateTime? when)
        {
            if (S3Bucket.UploadIdOf(key) is not { } id || !StoragePaths.IsUploadId(id)) return;
            var at = new DateTimeOffset(DateTime.SpecifyKind(when ?? DateTime.MinValue, DateTimeKind.Utc));
            latest[id] = latest.TryGetValue(id, out var seen) && seen > at ? seen : at;
        }
        await foreach (var o in bucket.ListAsync(S3Bucket.UploadsPrefix, null, ct)) Seen(o.Key, o.LastModified?.ToUniversalTime());
        await foreach (var u in bucket.ListMultipartAsync(S3Bucket.UploadsPrefix, ct)) Seen(u.Key, u.Initiated?.ToUniversalTime());
        await foreach (var u in bucket.ListMultipartAsync("blobs/", ct))
        {
            if (u.Initiated?.ToUniversalTime() < cutoff.UtcDateTime) await bucket.AbortAsync(u.Key, u.UploadId, ct);
        }
        foreach (var (id, at) in latest)
        {
            if (at < cutoff) yield return id;
        }
    }

    /// <summary>Deletes the append objects at <paramref name="offset"/> and beyond, and aborts interrupted appends there.</summary>
    private async Task DiscardFromAsync(string id, long offset, CancellationToken ct)
    {
        var prefix = S3Bucket.UploadPrefix(id);
        await foreach (var u in bucket.ListMultipartAsync(prefix, ct))
        {
            if ((S3Bucket.OffsetOf(u.Key) ?? long.MaxValue) >= offset) await bucket.AbortAsync(u.Key, u.UploadId, ct);
        }
        var startAfter = offset > 0 ? S3Bucket.AppendKey(id, offset - 1) : null;
        var stale = new List<string>();
        await foreach (var o in bucket.ListAsync(prefix, startAfter, ct)) stale.Add(o.Key);
        if (stale.Count > 0) await bucket.DeleteAsync(stale, ct);
    }

    /// <summary>The upload's append objects in offset order.</summary>
    private async Task<List<Staged>> StagedAsync(string id, CancellationToken ct)
    {
        var staged = new List<Staged>();
        await foreach (var o in bucket.ListAsync(S3Bucket.UploadPrefix(id), null, ct))
        {
            if (S3Bucket.OffsetOf(o.Key) is { } offset) staged.Add(new Staged(o.Key, offset, o.Size ?? 0));
        }
        return staged;
    }

    /// <summary>
    /// The pieces that make the upload's first <paramref name="length"/> bytes: each object from its offset to where the next
    /// begins. With <paramref name="exact"/>, a gap or too little data means the upload's data is gone.
    /// </summary>
    internal static List<Piece> Pieces(IReadOnlyList<Staged> staged, long length, string id, bool exact)
    {
        var pieces = new List<Piece>();
        long position = 0;
        for (var i = 0; i < staged.Count && position < length; i++)
        {
            var s = staged[i];
            if (s.Offset > position) throw Gone(id, $"nothing staged at byte {position}");
            var end = Math.Min(s.Offset + s.Size, length);
            if (i + 1 < staged.Count) end = Math.Min(end, staged[i + 1].Offset);
            if (end > position) pieces.Add(new Piece(s.Key, s.Size, position - s.Offset, end - position));
            position = Math.Max(position, end);
        }
        if (exact && position < length) throw Gone(id, $"only {position} of {length} bytes are staged");
        return pieces;
    }

    /// <summary>
    /// How pieces become the parts of one multipart upload: a piece of at least <paramref name="minPart"/> is copied
    /// server-side (split when larger than <paramref name="maxCopy"/>); smaller pieces are gathered into a part streamed
    /// through this process until it reaches <paramref name="target"/>; gathered bytes that would otherwise form a part
    /// below the minimum before a large piece take its first bytes (or all of it, when the rest would be too small
    /// to stand alone). Every part but the last is at least the minimum; a streamed part stays under
    /// <paramref name="target"/> + <paramref name="minPart"/>.
    /// </summary>
    internal static List<Part> Plan(IReadOnlyList<Piece> pieces, long minPart, long maxCopy, long target)
    {
        var parts = new List<Part>();
        var gathered = new List<Piece>();
        long gatheredBytes = 0;
        void Gather(Piece p)
        {
            gathered.Add(p);
            gatheredBytes += p.Length;
        }
        void Flush()
        {
            if (gathered.Count == 0) return;
            parts.Add(new Part(null, [.. gathered]));
            gathered.Clear();
            gatheredBytes = 0;
        }
        foreach (var piece in pieces)
        {
            var p = piece;
            if (p.Length >= minPart && gatheredBytes > 0)
            {
                var need = minPart - gatheredBytes;
                if (p.Length - need < minPart)
                {
                    Gather(p);
                    Flush();
                    continue;
                }
                Gather(p with { Length = need });
                Flush();
                p = p with { Start = p.Start + need, Length = p.Length - need };
            }
            if (p.Length >= minPart)
            {
                var count = (p.Length + maxCopy - 1) / maxCopy;
                for (long i = 0, done = 0; i < count; i++)
                {
                    var size = (p.Length - done) / (count - i);
                    parts.Add(new Part(p with { Start = p.Start + done, Length = size }, []));
                    done += size;
                }
                continue;
            }
            Gather(p);
            if (gatheredBytes >= target) Flush();
        }
        Flush();
        return parts;
    }

    private async Task ComposeAsync(string key, List<Piece> pieces, long length, CancellationToken ct)
    {
        var client = bucket.Client;
        // At most 9,000 parts (S3 allows 10,000): a streamed part grows with the blob beyond 45 GB.
        var target = Math.Max(S3Bucket.MinPart, (length + 8999) / 9000);
        var parts = Plan(pieces, S3Bucket.MinPart, S3Bucket.MaxCopy, target);
        if (parts.Count == 0)
        {
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Name, Key = key, InputStream = new MemoryStream([], false) }, ct);
            return;
        }
        if (parts is [{ Copy: { } whole }] && whole.Start == 0 && whole.Length == whole.ObjectSize)
        {
            await client.CopyObjectAsync(new CopyObjectRequest
            {
                SourceBucket = bucket.Name, SourceKey = whole.Key, DestinationBucket = bucket.Name, DestinationKey = key,
            }, ct);
            return;
        }
        byte[]? buffer = null;
        try
        {
            if (parts is [{ Copy: null } only])
            {
                buffer = ArrayPool<byte>.Shared.Rent((int)length);
                await ReadPiecesAsync(only.Gathered, buffer, ct);
                using var body = new MemoryStream(buffer, 0, (int)length, writable: false);
                await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Name, Key = key, InputStream = body, AutoCloseStream = false }, ct);
                return;
            }
            var upload = await client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket.Name, Key = key }, ct);
            // Server-side copies run a few at a time beside the streamed parts, which go one by one through the buffer.
            var etags = new PartETag[parts.Count];
            var copies = new List<Task>();
            using var copying = new SemaphoreSlim(ConcurrentCopies);
            try
            {
                for (var i = 0; i < parts.Count; i++)
                {
                    var number = i + 1;
                    if (parts[i].Copy is { } copy)
                    {
                        await copying.WaitAsync(ct);
                        copies.Add(CopyPartAsync(copy, number));
                    }
                    else
                    {
                        var size = (int)parts[i].Length;
                        if (buffer is null || buffer.Length < size)
                        {
                            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
                            buffer = ArrayPool<byte>.Shared.Rent(size);
                        }
                        await ReadPiecesAsync(parts[i].Gathered, buffer, ct);
                        using var body = new MemoryStream(buffer, 0, size, writable: false);
                        var sent = await client.UploadPartAsync(new UploadPartRequest
                        {
                            BucketName = bucket.Name, Key = key, UploadId = upload.UploadId, PartNumber = number, InputStream = body, PartSize = size,
                        }, ct);
                        etags[i] = new PartETag(number, sent.ETag);
                    }
                }
                await Task.WhenAll(copies);
                await client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
                {
                    BucketName = bucket.Name, Key = key, UploadId = upload.UploadId, PartETags = [.. etags],
                }, ct);
            }
            catch
            {
                await Task.WhenAll(copies).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                await bucket.AbortAsync(key, upload.UploadId, CancellationToken.None);
                throw;
            }

            async Task CopyPartAsync(Piece copy, int number)
            {
                try
                {
                    var copied = await client.CopyPartAsync(new CopyPartRequest
                    {
                        SourceBucket = bucket.Name, SourceKey = copy.Key, DestinationBucket = bucket.Name, DestinationKey = key,
                        UploadId = upload.UploadId, PartNumber = number, FirstByte = copy.Start, LastByte = copy.Start + copy.Length - 1,
                    }, ct);
                    etags[number - 1] = new PartETag(number, copied.ETag);
                }
                finally
                {
                    copying.Release();
                }
            }
        }
        finally
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task ReadPiecesAsync(IReadOnlyList<Piece> pieces, byte[] buffer, CancellationToken ct)
    {
        var at = 0;
        foreach (var p in pieces)
        {
            using var response = await bucket.Client.GetObjectAsync(new GetObjectRequest
            {
                BucketName = bucket.Name, Key = p.Key, ByteRange = new ByteRange(p.Start, p.Start + p.Length - 1),
            }, ct);
            await response.ResponseStream.ReadExactlyAsync(buffer.AsMemory(at, (int)p.Length), ct);
            at += (int)p.Length;
        }
    }

    private static void CheckId(string id)
    {
        if (!StoragePaths.IsUploadId(id)) throw new RegistryException(ErrorCode.BlobUploadUnknown, "upload unknown");
    }

    private static RegistryException Gone(string id, string? why = null) =>
        new(ErrorCode.BlobUploadUnknown, why is null ? "the upload's data is gone" : $"the upload's data is gone: {why}", ErrorDetail.Of(("id", id)));
}

/// <summary>An append object: its key, the upload offset it starts at, its size.</summary>
internal sealed record Staged(string Key, long Offset, long Size);

/// <summary><paramref name="Length"/> bytes from <paramref name="Start"/> of object <paramref name="Key"/> (of <paramref name="ObjectSize"/> bytes).</summary>
internal sealed record Piece(string Key, long ObjectSize, long Start, long Length);

/// <summary>A part of a composition: a server-side copy of one piece, or gathered pieces streamed through a buffer.</summary>
internal sealed record Part(Piece? Copy, IReadOnlyList<Piece> Gathered)
{
    public long Length => Copy?.Length ?? Gathered.Sum(p => p.Length);
}

/// <summary>The pieces of an upload read one after another, one ranged GET open at a time.</summary>
internal sealed class PiecesStream(S3Bucket bucket, IReadOnlyList<Piece> pieces) : Stream
{
    private int _next;
    private Stream? _current;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (buffer.IsEmpty) return 0;
        while (true)
        {
            if (_current is null)
            {
                if (_next == pieces.Count) return 0;
                var p = pieces[_next++];
                var response = await bucket.Client.GetObjectAsync(new GetObjectRequest
                {
                    BucketName = bucket.Name, Key = p.Key, ByteRange = new ByteRange(p.Start, p.Start + p.Length - 1),
                }, ct);
                _current = new ResponseStream(response);
            }
            var n = await _current.ReadAsync(buffer, ct);
            if (n > 0) return n;
            await _current.DisposeAsync();
            _current = null;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _current?.Dispose();
        base.Dispose(disposing);
    }
}
