using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Berth.Core.Storage;

/// <summary>
/// Appends to an upload's file. Whole 4 KiB blocks at aligned offsets are written with O_DIRECT where the
/// file system allows it: they go from our buffer to the disk without the page-cache copy, which on a
/// 1 GiB push is most of the CPU a buffered write costs, and leave nothing dirty for the flush at commit.
/// A tail that is not a whole block (the end of a body, or a chunk of odd size) is written normally, and
/// everything after an unaligned offset too. Both descriptors address the same file; the kernel keeps
/// direct and buffered I/O coherent.
/// Two buffers alternate: while one is written to disk, the caller fills the other from the network.
/// </summary>
internal sealed class UploadFile : IUploadWriter
{
    private const int Alignment = 4096;
    private const int BufferSize = 1 << 20;
    private const int MaxPooled = 32;
    private static readonly ConcurrentQueue<AlignedBuffer> Pool = new();

    private readonly SafeFileHandle _file;
    private SafeFileHandle? _direct;
    private AlignedBuffer? _filling;
    private AlignedBuffer? _writing;
    private Task _pending = Task.CompletedTask;
    private long _position;

    private UploadFile(SafeFileHandle file, SafeFileHandle? direct, long position)
    {
        _file = file;
        _direct = direct;
        _position = position;
    }

    private static AlignedBuffer Rent() => Pool.TryDequeue(out var b) ? b : new AlignedBuffer(BufferSize, Alignment);

    private static void Return(AlignedBuffer buffer)
    {
        // Racy by a buffer or two under contention, which is fine: the bound is about memory, not exactness.
        if (Pool.Count < MaxPooled) Pool.Enqueue(buffer);
    }

    /// <summary>Rented on first use: opening an upload only to create it (or to complete it without a body) costs no buffers.</summary>
    public Memory<byte> Buffer => (_filling ??= Rent()).Memory;

    /// <summary>Opens the upload at <paramref name="offset"/>, discarding anything written past it.</summary>
    public static UploadFile Open(string path, long offset)
    {
        // File.OpenHandle cannot give a creation mode, so a new upload's file is created 0600 first.
        if (offset == 0) new FileStream(path, PrivateFiles.Options(FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0)).Dispose();
        var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            if (RandomAccess.GetLength(file) != offset) RandomAccess.SetLength(file, offset);
            var direct = offset % Alignment == 0 ? Direct.TryOpen(path) : null;
            return new UploadFile(file, direct, offset);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for the previous block's write, then starts this one's and hands out the other buffer. A short
    /// block (a small blob, the end of a body) is written at once: a thread hop would cost more than it hides.
    /// </summary>
    public async ValueTask WriteAsync(int count, CancellationToken ct)
    {
        await _pending;
        (_filling, _writing) = (_writing, _filling);
        var block = _writing ?? throw new InvalidOperationException("WriteAsync before Buffer was filled");
        if (count < OverlapFrom)
        {
            Write(block.Memory.Span[..count]);
            return;
        }
        _pending = Task.Run(() => Write(block.Memory.Span[..count]), CancellationToken.None);
    }

    private const int OverlapFrom = 256 * 1024;

    private void Write(ReadOnlySpan<byte> data)
    {
        if (_direct is not null)
        {
            var whole = data.Length / Alignment * Alignment;
            if (whole > 0)
            {
                RandomAccess.Write(_direct, data[..whole], _position);
                _position += whole;
                data = data[whole..];
            }
            if (data.Length > 0)
            {
                // From here on the offset is unaligned: no more direct writes for this writer.
                _direct.Dispose();
                _direct = null;
            }
        }
        if (data.Length > 0)
        {
            RandomAccess.Write(_file, data, _position);
            _position += data.Length;
        }
    }

    /// <summary>Completes the last write (its failure surfaces here, before the caller acknowledges anything).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _pending;
        }
        finally
        {
            _direct?.Dispose();
            _file.Dispose();
            if (_filling is not null) Return(_filling);
            if (_writing is not null) Return(_writing);
        }
    }

    /// <summary>A pinned array with a block-aligned window, as O_DIRECT requires of user memory.</summary>
    private sealed class AlignedBuffer
    {
        public AlignedBuffer(int size, int alignment)
        {
            var array = GC.AllocateUninitializedArray<byte>(size + alignment, pinned: true);
            var address = Marshal.UnsafeAddrOfPinnedArrayElement(array, 0).ToInt64();
            var skip = (int)((alignment - address % alignment) % alignment);
            Memory = array.AsMemory(skip, size);
        }

        public Memory<byte> Memory { get; }
    }

    private static class Direct
    {
        private const int O_WRONLY = 0x1;
        private const int O_DIRECT = 0x4000;

        /// <summary>A write-only O_DIRECT descriptor, or null where the platform or file system has none (tmpfs).</summary>
        public static SafeFileHandle? TryOpen(string path)
        {
            if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64)) return null;
            var fd = open(path, O_WRONLY | O_DIRECT);
            return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
    }
}
