using Microsoft.Win32.SafeHandles;

namespace Berth.Core.Storage;

/// <summary>
/// A read-only window (offset, length) of an open file, read with positional reads (pread): no shared
/// position, no seek, and it ends where the window ends. Owns the handle.
/// Reads are synchronous even when called as ReadAsync. Blob reads are mostly served from the page cache (a
/// push warms it, pulls repeat), where a 64 KiB read takes microseconds; the thread-pool hop of an
/// asynchronous file read would cost more than the read itself, on every block of a GET.
/// </summary>
internal sealed class FileRange(SafeFileHandle file, long offset, long length) : Stream
{
    private readonly long _end = offset + length;
    private long _position = offset;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        var wanted = (int)Math.Min(buffer.Length, _end - _position);
        if (wanted <= 0) return 0;
        var n = RandomAccess.Read(file, buffer[..wanted], _position);
        _position += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
        try
        {
            return ValueTask.FromResult(Read(buffer.Span));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<int>(e);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) file.Dispose();
        base.Dispose(disposing);
    }
}
