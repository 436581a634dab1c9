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
/// </summary>
internal sealed class UploadFile : IUploadWriter
{
    private const int Alignment = 4096;
    private const int BufferSize = 1 << 20;
    private static readonly ConcurrentBag<AlignedBuffer> Pool = [];

    private readonly SafeFileHandle _file;
    private SafeFileHandle? _direct;
    private readonly AlignedBuffer _buffer;
    private long _position;

    private UploadFile(SafeFileHandle file, SafeFileHandle? direct, long position)
    {
        _file = file;
        _direct = direct;
        _position = position;
        _buffer = Pool.TryTake(out var b) ? b : new AlignedBuffer(BufferSize, Alignment);
    }

    public Memory<byte> Buffer => _buffer.Memory;

    /// <summary>Opens the upload at <paramref name="offset"/>, discarding anything written past it.</summary>
    public static UploadFile Open(string path, long offset)
    {
        var file = File.OpenHandle(path, offset == 0 ? FileMode.OpenOrCreate : FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
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

    public ValueTask WriteAsync(int count, CancellationToken ct)
    {
        var data = _buffer.Memory.Span[..count];
        if (_direct is not null)
        {
            var whole = count / Alignment * Alignment;
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
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _direct?.Dispose();
        _file.Dispose();
        Pool.Add(_buffer);
        return ValueTask.CompletedTask;
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
