namespace Berth.Core.Storage;

/// <summary>
/// Where upload data is staged until it is committed as a blob of <see cref="IBlobStore"/>. An upload is known
/// by its id (<see cref="StoragePaths.IsUploadId"/>); the caller (<see cref="Registry.UploadService"/>) keeps
/// its acknowledged size and digest in the metadata, hashes the data and serialises the appends of one upload.
/// Contract for every backend:
/// <list type="bullet">
/// <item>Staged data survives a restart and can be continued, read back and committed by another process: a
/// backend keeps nothing about an upload in memory that the next append needs (no hasher state, no open
/// multipart handle that cannot be found again).</item>
/// <item>An append names the offset it continues from; whatever was staged past it (an append that failed or
/// was never acknowledged) must be discarded. A backend may stage each append as a separate part (S3 multipart)
/// and compose them at commit.</item>
/// <item>Commit publishes the first <c>length</c> bytes under the digest durably, or keeps an existing blob of
/// that digest and drops the upload (dedupe). It is idempotent, so a completion can be retried after a crash.</item>
/// <item>Deleting (aborting) an upload that is absent is not an error.</item>
/// </list>
/// </summary>
public interface IUploadStaging
{
    /// <summary>
    /// Opens upload <paramref name="id"/> for appending at <paramref name="offset"/>, creating it when
    /// <paramref name="offset"/> is 0; bytes staged past the offset (left by an interrupted append) are discarded.
    /// The data written is staged when the writer's <see cref="IAsyncDisposable.DisposeAsync"/> returns; a write
    /// failure surfaces there or in <see cref="IUploadWriter.WriteAsync"/>.
    /// </summary>
    ValueTask<IUploadWriter> OpenUploadAsync(string id, long offset, CancellationToken ct);

    /// <summary>
    /// Reads the upload's staged data from the start, to re-hash it when its hasher was lost (restart, another
    /// process). The caller reads only as many bytes as it acknowledged.
    /// </summary>
    ValueTask<Stream> OpenUploadReadAsync(string id, CancellationToken ct);

    /// <summary>
    /// Makes the first <paramref name="length"/> bytes of the upload durable and visible as <paramref name="digest"/>
    /// in the <see cref="IBlobStore"/>, and drops the upload. When the digest is already stored the upload (if still
    /// there) is dropped and the stored blob kept. When neither exists, throws <see cref="RegistryException"/> with
    /// <see cref="ErrorCode.BlobUploadUnknown"/>.
    /// </summary>
    ValueTask CommitUploadAsync(string id, long length, Digest digest, CancellationToken ct);

    /// <summary>Aborts the upload: removes its staged data. Absent uploads are not an error.</summary>
    ValueTask DeleteUploadAsync(string id, CancellationToken ct);

    /// <summary>
    /// Ids of uploads whose data was last written before <paramref name="cutoff"/>, including those no session
    /// row records (a crash between staging and the row), for expiry to sweep.
    /// </summary>
    IAsyncEnumerable<string> ListUploadsAsync(DateTimeOffset cutoff, CancellationToken ct);
}

/// <summary>
/// An append-only writer for one upload. The writer owns the buffer, so a backend can hand out memory
/// its I/O needs (aligned for direct I/O, sized for a multipart part) and the body is copied only once.
/// </summary>
public interface IUploadWriter : IAsyncDisposable
{
    /// <summary>Space for the next bytes; valid until the next <see cref="WriteAsync"/>. Fill it from the start.</summary>
    Memory<byte> Buffer { get; }

    /// <summary>Appends the first <paramref name="count"/> bytes of <see cref="Buffer"/>.</summary>
    ValueTask WriteAsync(int count, CancellationToken ct);
}
