using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Berth.Core;
using Berth.Core.Storage;

namespace Berth.Storage.S3;

/// <summary>
/// Blobs as objects <c>blobs/&lt;alg&gt;/&lt;hex&gt;</c> of one bucket (layout in <see cref="S3Bucket"/>). Reads are ranged
/// GETs, or with <see cref="S3Settings.Redirect"/> a pre-signed GET URL the client follows with its own Range.
/// An acknowledged PUT is stored: S3 answers only once the object is durable.
/// </summary>
public sealed class S3BlobStore(S3Bucket bucket, TimeProvider time) : IBlobStore
{
    /// <summary>How long a redirect URL stays valid: long enough to start the download, short enough not to be shared.</summary>
    public static readonly TimeSpan RedirectLifetime = TimeSpan.FromMinutes(5);

    private readonly bool _https = bucket.Settings.Endpoint.StartsWith("https:", StringComparison.OrdinalIgnoreCase);

    public async ValueTask<BlobRead?> ReadAsync(Digest digest, long offset, long length, CancellationToken ct)
    {
        var key = S3Bucket.BlobKey(digest);
        if (bucket.Settings.Redirect)
        {
            // The blob's presence is checked here, as the contract says absent reads as null; the URL itself proves nothing.
            if (await bucket.SizeAsync(key, ct) is null) return null;
            var url = await bucket.Client.GetPreSignedURLAsync(new GetPreSignedUrlRequest
            {
                BucketName = bucket.Name,
                Key = key,
                Verb = HttpVerb.GET,
                Protocol = _https ? Protocol.HTTPS : Protocol.HTTP,
                Expires = time.GetUtcNow().UtcDateTime + RedirectLifetime,
            });
            return BlobRead.RedirectTo(new Uri(url));
        }
        var content = await OpenRangeAsync(key, offset, length, ct);
        return content is null ? null : BlobRead.Of(content);
    }

    public async ValueTask<byte[]?> GetAsync(Digest digest, int length, CancellationToken ct)
    {
        await using var content = await OpenRangeAsync(S3Bucket.BlobKey(digest), 0, length, ct);
        if (content is null) return null;
        var data = new byte[length];
        await content.ReadExactlyAsync(data, ct);
        return data;
    }

    public async ValueTask PutAsync(Digest digest, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var key = S3Bucket.BlobKey(digest);
        if (await bucket.SizeAsync(key, ct) is not null) return;
        using var body = ReadOnlyMemoryStream(content);
        await bucket.Client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Name, Key = key, InputStream = body, AutoCloseStream = false }, ct);
    }

    /// <summary>One ListObjectsV2 walk of <c>blobs/</c> (1,000 keys a request), already in digest order.</summary>
    public async IAsyncEnumerable<StoredBlob> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var o in bucket.ListAsync("blobs/", null, ct))
        {
            var parts = o.Key.Split('/');
            if (parts.Length != 3 || !Digest.TryParse($"{parts[1]}:{parts[2]}", out var digest)) continue;
            yield return new StoredBlob(digest, o.Size ?? 0, o.LastModified is { } m ? new DateTimeOffset(m.ToUniversalTime(), TimeSpan.Zero) : DateTimeOffset.MinValue);
        }
    }

    public async ValueTask DeleteAsync(Digest digest, CancellationToken ct) =>
        await bucket.Client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket.Name, Key = S3Bucket.BlobKey(digest) }, ct);

    /// <summary>
    /// A ranged GET of <paramref name="key"/>; null when the object is absent, an empty stream when the range starts at or
    /// past its end (S3 answers 416 there), and only what is stored when the range runs past the end.
    /// </summary>
    internal async Task<Stream?> OpenRangeAsync(string key, long offset, long length, CancellationToken ct)
    {
        if (length <= 0) return await bucket.SizeAsync(key, ct) is null ? null : Stream.Null;
        try
        {
            var response = await bucket.Client.GetObjectAsync(new GetObjectRequest
            {
                BucketName = bucket.Name,
                Key = key,
                ByteRange = new ByteRange(offset, offset + length - 1),
            }, ct);
            return new ResponseStream(response);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return Stream.Null;
        }
    }

    internal static MemoryStream ReadOnlyMemoryStream(ReadOnlyMemory<byte> content) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);
}

/// <summary>A GET's body that releases the response (and its connection) when disposed.</summary>
internal sealed class ResponseStream(GetObjectResponse response) : Stream
{
    private readonly Stream _body = response.ResponseStream;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => _body.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _body.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => _body.ReadAsync(buffer, offset, count, ct);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => _body.ReadAsync(buffer, ct);

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _body.Dispose();
            response.Dispose();
        }
        base.Dispose(disposing);
    }
}
