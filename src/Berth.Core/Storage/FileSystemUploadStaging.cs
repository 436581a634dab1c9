namespace Berth.Core.Storage;

/// <summary>
/// Uploads as files in <c>data/uploads</c>, appended by <see cref="UploadFile"/> (O_DIRECT) and renamed into
/// <c>data/blobs</c> at commit (layout in <see cref="StoragePaths"/>).
/// </summary>
public sealed class FileSystemUploadStaging : IUploadStaging
{
    private readonly StoragePaths _paths;

    public FileSystemUploadStaging(StoragePaths paths)
    {
        _paths = paths;
        PrivateFiles.CreateDirectory(paths.Blobs);
        PrivateFiles.CreateDirectory(paths.Uploads);
    }

    public ValueTask<IUploadWriter> OpenUploadAsync(string id, long offset, CancellationToken ct) =>
        ValueTask.FromResult<IUploadWriter>(UploadFile.Open(_paths.Upload(id), offset));

    public ValueTask<Stream> OpenUploadReadAsync(string id, CancellationToken ct) =>
        ValueTask.FromResult<Stream>(new FileStream(_paths.Upload(id), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20, FileOptions.SequentialScan));

    /// <summary>Truncate to the acknowledged length, fsync, rename into place, fsync the directory.</summary>
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
        DurableFiles.Publish(path, target);
        DurableFiles.WarmCache(target, length);
        return ValueTask.CompletedTask;
    }

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
}
