using System.Buffers;
using Amazon.S3.Model;
using Berth.Core.Storage;

namespace Berth.Storage.S3;

/// <summary>
/// One append, staged as one object (see <see cref="S3UploadStaging"/>): the caller fills <see cref="Buffer"/>, a window
/// of an 8 MiB part buffer, so the body is copied once. Up to one buffer it becomes a PUT when disposed; beyond that
/// a multipart upload of the same key, whose parts are sent while the next buffer fills, completed when disposed.
/// A failed write leaves nothing staged: the multipart upload is aborted, and an abandoned one is found by listing.
/// </summary>
internal sealed class S3UploadWriter(S3Bucket bucket, string key, bool writeEmpty) : IUploadWriter
{
    private byte[] _filling = ArrayPool<byte>.Shared.Rent(S3Bucket.PartSize);
    private byte[]? _sending;
    private int _filled;
    private string? _uploadId;
    private Task<UploadPartResponse>? _inFlight;
    private readonly List<PartETag> _parts = [];
    private bool _failed;

    public Memory<byte> Buffer => _filling.AsMemory(_filled, S3Bucket.PartSize - _filled);

    public async ValueTask WriteAsync(int count, CancellationToken ct)
    {
        _filled += count;
        if (_filled < S3Bucket.PartSize) return;
        try
        {
            await SendPartAsync(ct);
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    /// <summary>Starts sending the full buffer as the next part, after the one before it is acknowledged.</summary>
    private async Task SendPartAsync(CancellationToken ct)
    {
        _uploadId ??= (await bucket.Client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket.Name, Key = key }, ct)).UploadId;
        await AwaitInFlightAsync();
        var number = _parts.Count + 1;
        var body = new MemoryStream(_filling, 0, _filled, writable: false);
        _inFlight = bucket.Client.UploadPartAsync(new UploadPartRequest
        {
            BucketName = bucket.Name, Key = key, UploadId = _uploadId, PartNumber = number, InputStream = body, PartSize = _filled,
        }, ct);
        (_filling, _sending) = (_sending ?? ArrayPool<byte>.Shared.Rent(S3Bucket.PartSize), _filling);
        _filled = 0;
    }

    private async Task AwaitInFlightAsync()
    {
        if (_inFlight is null) return;
        var sent = await _inFlight;
        _inFlight = null;
        _parts.Add(new PartETag(_parts.Count + 1, sent.ETag));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_failed)
            {
                if (_inFlight is not null) await Task.WhenAny(_inFlight);
                if (_uploadId is not null) await bucket.AbortAsync(key, _uploadId, CancellationToken.None);
                return;
            }
            if (_uploadId is null)
            {
                if (_filled == 0 && !writeEmpty) return;
                using var body = new MemoryStream(_filling, 0, _filled, writable: false);
                await bucket.Client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Name, Key = key, InputStream = body, AutoCloseStream = false });
                return;
            }
            try
            {
                if (_filled > 0) await SendPartAsync(CancellationToken.None);
                await AwaitInFlightAsync();
                await bucket.Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
                {
                    BucketName = bucket.Name, Key = key, UploadId = _uploadId, PartETags = _parts,
                });
            }
            catch
            {
                if (_inFlight is not null) await Task.WhenAny(_inFlight);
                await bucket.AbortAsync(key, _uploadId, CancellationToken.None);
                throw;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_filling);
            if (_sending is not null) ArrayPool<byte>.Shared.Return(_sending);
        }
    }
}
