using System.Runtime.InteropServices;

namespace Berth.Core.Storage;

/// <summary>Blobs as files under the data directory (layout in <see cref="StoragePaths"/>).</summary>
public sealed class FileSystemBlobStore : IBlobStore
{
    private readonly StoragePaths _paths;

    public FileSystemBlobStore(StoragePaths paths)
    {
        _paths = paths;
        PrivateFiles.CreateDirectory(paths.Blobs);
        PrivateFiles.CreateDirectory(paths.Uploads);
    }

    public ValueTask<Stream?> OpenReadAsync(Digest digest, CancellationToken ct)
    {
        try
        {
            // bufferSize 0: callers read in large blocks; FileStream's own buffer would only add a copy.
            Stream s = new FileStream(_paths.Blob(digest), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 0, FileOptions.SequentialScan);
            return ValueTask.FromResult<Stream?>(s);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return ValueTask.FromResult<Stream?>(null);
        }
    }

    public async ValueTask PutAsync(Digest digest, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var target = _paths.Blob(digest);
        if (File.Exists(target)) return;
        var temp = _paths.Upload(Guid.NewGuid().ToString("N"));
        await using (var f = new FileStream(temp, PrivateFiles.Options(FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0)))
        {
            await f.WriteAsync(content, ct);
            f.Flush(flushToDisk: true);
        }
        Publish(temp, target);
    }

    public ValueTask DeleteAsync(Digest digest, CancellationToken ct)
    {
        try
        {
            File.Delete(_paths.Blob(digest));
        }
        catch (DirectoryNotFoundException)
        {
            // No blob with this digest's prefix was ever stored: it is absent, which is not an error.
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<IUploadWriter> OpenUploadAsync(string id, long offset, CancellationToken ct) =>
        ValueTask.FromResult<IUploadWriter>(UploadFile.Open(_paths.Upload(id), offset));

    public ValueTask<Stream> OpenUploadReadAsync(string id, CancellationToken ct) =>
        ValueTask.FromResult<Stream>(new FileStream(_paths.Upload(id), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20, FileOptions.SequentialScan));

    public ValueTask CommitUploadAsync(string id, long length, Digest digest, CancellationToken ct)
    {
        var path = _paths.Upload(id);
        var target = _paths.Blob(digest);
        if (File.Exists(target))
        {
            File.Delete(path);
            return ValueTask.CompletedTask;
        }
        if (!File.Exists(path))
        {
            throw new RegistryException(ErrorCode.BlobUploadUnknown, "the upload's data is gone", ErrorDetail.Of(("id", id)));
        }
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            if (RandomAccess.GetLength(handle) != length) RandomAccess.SetLength(handle, length);
            RandomAccess.FlushToDisk(handle);
        }
        Publish(path, target);
        WarmCache(target, length);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Direct writes leave a new blob out of the page cache, but a push is usually followed by pulls
    /// (CI, a rollout): ask the kernel to read it back in the background. Huge blobs are left alone.
    /// </summary>
    private static void WarmCache(string path, long length)
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

    private const long WarmCacheLimit = 256L << 20;
    private const long WarmCacheWindow = 4L << 20;

    public ValueTask DeleteUploadAsync(string id, CancellationToken ct)
    {
        File.Delete(_paths.Upload(id));
        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<string> ListUploadsAsync(DateTimeOffset cutoff, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await Task.CompletedTask;
        foreach (var file in new DirectoryInfo(_paths.Uploads).EnumerateFiles())
        {
            ct.ThrowIfCancellationRequested();
            if (StoragePaths.IsUploadId(file.Name) && file.LastWriteTimeUtc < cutoff.UtcDateTime) yield return file.Name;
        }
    }

    /// <summary>Renames a flushed file into place and flushes the directory entry, so the blob survives a crash.</summary>
    private static void Publish(string source, string target)
    {
        var dir = Path.GetDirectoryName(target)!;
        PrivateFiles.CreateDirectory(dir);
        File.Move(source, target, overwrite: true);
        FlushDirectory(dir);
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
