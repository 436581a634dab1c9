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

    public ValueTask<BlobRead?> ReadAsync(Digest digest, long offset, long length, CancellationToken ct)
    {
        var file = OpenOrNull(digest, FileOptions.SequentialScan);
        return ValueTask.FromResult(file is null ? null : BlobRead.Of(new FileRange(file, offset, length)));
    }

    public async ValueTask<byte[]?> GetAsync(Digest digest, int length, CancellationToken ct)
    {
        // No read-ahead advice: manifests are small, read whole, once (a syscall saved per cache miss).
        if (OpenOrNull(digest, FileOptions.None) is not { } file) return null;
        var content = new byte[length];
        await using var range = new FileRange(file, 0, length);
        await range.ReadExactlyAsync(content, ct);
        return content;
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
        DurableFiles.Publish(temp, target);
    }

    public async IAsyncEnumerable<StoredBlob> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Yield();
        foreach (var algorithm in Sorted(_paths.Blobs))
        {
            foreach (var prefix in Sorted(algorithm.FullName))
            {
                ct.ThrowIfCancellationRequested();
                var files = new List<FileInfo>();
                try
                {
                    files.AddRange(prefix.EnumerateFiles());
                }
                catch (DirectoryNotFoundException)
                {
                    continue;
                }
                files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
                foreach (var file in files)
                {
                    if (!file.Name.StartsWith(prefix.Name, StringComparison.Ordinal)
                        || !Digest.TryParse($"{algorithm.Name}:{file.Name}", out var digest)) continue;
                    // No stat until asked: FileInfo fills its status lazily, and Exists never throws for a file gone since.
                    yield return new StoredBlob(digest, () => file.Exists ? (file.Length, file.LastWriteTimeUtc) : (0, DateTimeOffset.MaxValue));
                }
            }
        }
    }

    private static List<DirectoryInfo> Sorted(string directory)
    {
        try
        {
            var list = new DirectoryInfo(directory).EnumerateDirectories().ToList();
            list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return list;
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
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

    private Microsoft.Win32.SafeHandles.SafeFileHandle? OpenOrNull(Digest digest, FileOptions options)
    {
        try
        {
            // Delete sharing: a blob being read may be deleted (GC); the reader keeps its open file.
            return File.OpenHandle(_paths.Blob(digest), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, options);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}
