namespace Berth.Core.Storage;

/// <summary>
/// Content-addressed blob storage plus the staging area where uploads are written.
/// Contract for every backend:
/// <list type="bullet">
/// <item>A blob is visible under its digest only after <see cref="CommitUploadAsync"/> or <see cref="PutAsync"/>
/// returned, and only complete and durable (flushed to stable storage) content is ever visible.</item>
/// <item>Committing a digest that already exists keeps the existing copy (dedupe) and drops the upload.</item>
/// <item>Reads of a missing blob return null, never throw.</item>
/// <item>Upload data survives a restart of the process: an upload may be continued by another process.</item>
/// </list>
/// The store does not verify digests; <see cref="Registry.UploadService"/> does, before committing.
/// </summary>
public interface IBlobStore
{
    /// <summary>Opens the blob for reading (seekable), or null when it is absent.</summary>
    ValueTask<Stream?> OpenReadAsync(Digest digest, CancellationToken ct);

    /// <summary>Stores small content (manifests) durably under its digest.</summary>
    ValueTask PutAsync(Digest digest, ReadOnlyMemory<byte> content, CancellationToken ct);

    /// <summary>Removes the blob; absent blobs are not an error.</summary>
    ValueTask DeleteAsync(Digest digest, CancellationToken ct);

    /// <summary>
    /// Opens upload <paramref name="id"/> for appending at <paramref name="offset"/>, creating it when
    /// <paramref name="offset"/> is 0; bytes past the offset (left by an interrupted append) are discarded.
    /// </summary>
    ValueTask<IUploadWriter> OpenUploadAsync(string id, long offset, CancellationToken ct);

    /// <summary>Reads the upload's data from the start (to re-hash it when its hasher was lost).</summary>
    ValueTask<Stream> OpenUploadReadAsync(string id, CancellationToken ct);

    /// <summary>
    /// Makes the first <paramref name="length"/> bytes of the upload durable and visible as <paramref name="digest"/>.
    /// Idempotent: when the digest is already stored, the upload (if still there) is dropped.
    /// </summary>
    ValueTask CommitUploadAsync(string id, long length, Digest digest, CancellationToken ct);

    /// <summary>Removes the upload's data; absent uploads are not an error.</summary>
    ValueTask DeleteUploadAsync(string id, CancellationToken ct);

    /// <summary>Ids of uploads whose data was last written before <paramref name="cutoff"/> (to sweep orphans).</summary>
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
