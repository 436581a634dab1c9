namespace Berth.Core.Storage;

/// <summary>
/// Finished, content-addressed blobs: read by range, put whole (small content), delete.
/// Contract for every backend:
/// <list type="bullet">
/// <item>A blob is visible under its digest only once complete and durable (flushed to stable storage): after
/// <see cref="PutAsync"/> or <see cref="IUploadStaging.CommitUploadAsync"/> returned. It never changes afterwards.</item>
/// <item>An absent blob reads as null, never as an exception; deleting one is not an error.</item>
/// <item>Reads may run concurrently with each other, with puts and commits of other digests, and from several processes.</item>
/// </list>
/// The store does not verify digests: callers store content under the digest they computed.
/// </summary>
public interface IBlobStore
{
    /// <summary>
    /// Reads <paramref name="length"/> bytes from <paramref name="offset"/> (the caller took both from the blob's
    /// recorded size). Returns null when the blob is absent, never throws for it.
    /// The result is either <see cref="BlobRead.Content"/>, a forward-only stream that yields those bytes and then
    /// ends (only what is stored when the range runs past the end, nothing when it starts there or beyond), or,
    /// from a backend configured for it, <see cref="BlobRead.Redirect"/>: a URL where the client fetches the whole
    /// blob itself and repeats its own Range there.
    /// </summary>
    ValueTask<BlobRead?> ReadAsync(Digest digest, long offset, long length, CancellationToken ct);

    /// <summary>
    /// Reads the first <paramref name="length"/> bytes of small content (manifests) into memory, never by redirect.
    /// Null when absent; <see cref="EndOfStreamException"/> when the blob is shorter.
    /// </summary>
    ValueTask<byte[]?> GetAsync(Digest digest, int length, CancellationToken ct);

    /// <summary>Stores small content durably under its digest; an existing blob is kept as it is (dedupe).</summary>
    ValueTask PutAsync(Digest digest, ReadOnlyMemory<byte> content, CancellationToken ct);

    /// <summary>Removes the blob; absent blobs are not an error. Readers that already opened it may finish.</summary>
    ValueTask DeleteAsync(Digest digest, CancellationToken ct);

    /// <summary>
    /// Every stored blob with its size and the time it was written, in digest order (for garbage collection's sweep of
    /// files the metadata never recorded). Blobs put or deleted during the listing may or may not appear; anything under
    /// the blobs area that is not a blob of a known digest algorithm is left out.
    /// </summary>
    IAsyncEnumerable<StoredBlob> ListAsync(CancellationToken ct);
}

/// <summary>
/// A blob as <see cref="IBlobStore.ListAsync"/> finds it. Its size and time may be looked up only when first asked (a
/// <c>stat</c> per file on a filesystem: garbage collection asks only for the files the metadata does not record); a
/// blob gone by then reads as size 0, written at <see cref="DateTimeOffset.MaxValue"/> (too young to touch).
/// </summary>
public sealed class StoredBlob
{
    private readonly Func<(long Size, DateTimeOffset Written)>? _stat;
    private (long Size, DateTimeOffset Written)? _known;

    public StoredBlob(Digest digest, long size, DateTimeOffset written) => (Digest, _known) = (digest, (size, written));

    public StoredBlob(Digest digest, Func<(long Size, DateTimeOffset Written)> stat) => (Digest, _stat) = (digest, stat);

    public Digest Digest { get; }

    public long Size => Stat().Size;

    public DateTimeOffset Written => Stat().Written;

    private (long Size, DateTimeOffset Written) Stat() => _known ??= _stat!();
}

/// <summary>
/// What a read returns: exactly one of the bytes (<see cref="Content"/>, owned by the caller) or a URL to send
/// the client to (<see cref="Redirect"/>, e.g. an S3 pre-signed GET).
/// </summary>
public sealed class BlobRead : IDisposable
{
    private BlobRead(Stream? content, Uri? redirect)
    {
        Content = content;
        Redirect = redirect;
    }

    public Stream? Content { get; }

    public Uri? Redirect { get; }

    public static BlobRead Of(Stream content) => new(content, null);

    public static BlobRead RedirectTo(Uri url) => new(null, url);

    public void Dispose() => Content?.Dispose();
}
