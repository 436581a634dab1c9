using System.Runtime.InteropServices;

namespace Berth.Core.Storage;

/// <summary>The file system steps that make a blob survive a crash, shared by the blob store and upload staging.</summary>
internal static class DurableFiles
{
    private const long WarmCacheLimit = 256L << 20;
    private const long WarmCacheWindow = 4L << 20;

    /// <summary>Renames a flushed file into place and flushes the directory entry, so the blob survives a crash.</summary>
    public static void Publish(string source, string target)
    {
        var dir = Path.GetDirectoryName(target)!;
        PrivateFiles.CreateDirectory(dir);
        File.Move(source, target, overwrite: true);
        FlushDirectory(dir);
    }

    /// <summary>
    /// Direct writes leave a new blob out of the page cache, but a push is usually followed by pulls
    /// (CI, a rollout): ask the kernel to read it back in the background. Huge blobs are left alone.
    /// </summary>
    public static void WarmCache(string path, long length)
    {
        if (!OperatingSystem.IsLinux() || length > WarmCacheLimit) return;
        var fd = Native.open(path, Native.O_RDONLY);
        if (fd < 0) return;
        // The kernel caps one readahead request at a few MiB; ask window by window.
        for (long offset = 0; offset < length; offset += WarmCacheWindow)
        {
            Native.posix_fadvise(fd, offset, Math.Min(WarmCacheWindow, length - offset), Native.POSIX_FADV_WILLNEED);
        }
        Native.close(fd);
    }

    private static void FlushDirectory(string dir)
    {
        if (!OperatingSystem.IsLinux()) return;
        var fd = Native.open(dir, Native.O_RDONLY | Native.O_DIRECTORY);
        if (fd < 0) return;
        Native.fsync(fd);
        Native.close(fd);
    }

    private static class Native
    {
        public const int O_RDONLY = 0;
        public const int O_DIRECTORY = 0x10000;
        public const int POSIX_FADV_WILLNEED = 3;

        [DllImport("libc", SetLastError = true)]
        public static extern int posix_fadvise(int fd, long offset, long len, int advice);

        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }
}
