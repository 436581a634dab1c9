using Berth.Core;
using Berth.Core.Registry;
using Berth.Core.Policies;

namespace Berth.Api;

/// <summary>Blob reads with ranges, and deletes.</summary>
internal sealed class BlobEndpoints(BlobService blobs, Quarantine quarantine)
{
    private const int FileBlock = 64 * 1024;

    public async Task Get(HttpContext ctx, string name, string digestText)
    {
        var digest = Digest.Parse(digestText);
        var ct = ctx.RequestAborted;
        var response = ctx.Response;
        var headers = response.Headers;
        var digestValue = digest.ToString();
        var size = await blobs.StatAsync(name, digest, ct) ?? throw Unknown(digest);
        quarantine.ThrowIfQuarantined(digest);
        if (ctx.Request.Method == "HEAD")
        {
            WriteHeaders(response, digestValue, size);
            return;
        }

        var ranged = ByteRange.TryParse(ctx.Request.Headers.Range.ToString(), size, out var range);
        // An unsatisfiable range still opens the blob (for nothing), so a missing blob stays a 404 before the 416.
        var (start, length) = range ?? (0L, ranged ? 0L : size);
        using var read = await blobs.ReadAsync(name, digest, start, length, ct) ?? throw Unknown(digest);
        if (read.Redirect is { } url)
        {
            // The client repeats its Range at the URL (distribution answers the same way).
            response.StatusCode = StatusCodes.Status307TemporaryRedirect;
            headers["Docker-Content-Digest"] = digestValue;
            headers.Location = url.AbsoluteUri;
            return;
        }
        WriteHeaders(response, digestValue, size);
        if (ranged)
        {
            if (range is null)
            {
                headers.ContentRange = $"bytes */{size}";
                throw new RegistryException(ErrorCode.RangeInvalid, "requested range is outside the blob", ErrorDetail.Of(("size", size.ToString())));
            }
            response.StatusCode = StatusCodes.Status206PartialContent;
            headers.ContentRange = $"bytes {start}-{start + length - 1}/{size}";
            response.ContentLength = length;
        }
        if (ctx.Request.Headers.IfNoneMatch == headers.ETag && response.StatusCode == 200)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            response.ContentLength = null;
            return;
        }
        await CopyAsync(read.Content!, length, response, ct);
    }

    public async Task Delete(HttpContext ctx, string name, string digestText)
    {
        var digest = Digest.Parse(digestText);
        if (!await blobs.DeleteAsync(name, digest, ctx.RequestAborted)) throw Unknown(digest);
        ctx.Response.StatusCode = StatusCodes.Status202Accepted;
        ctx.Response.ContentLength = 0;
    }

    private static void WriteHeaders(HttpResponse response, string digest, long size)
    {
        var headers = response.Headers;
        response.ContentType = "application/octet-stream";
        response.ContentLength = size;
        headers["Docker-Content-Digest"] = digest;
        headers.ETag = $"\"{digest}\"";
        headers.AcceptRanges = "bytes";
        headers.CacheControl = "max-age=31536000";
    }

    /// <summary>
    /// Reads the store's stream (already at the range's start) straight into the response pipe's own blocks
    /// (64 KiB, see LargeBlockMemoryPool): one copy from the page cache to the socket buffers' source, none
    /// through an intermediate buffer. The filesystem store completes these reads synchronously (FileRange).
    /// Flushing every few blocks lets the transport send them with one gathered write.
    /// </summary>
    private static async Task CopyAsync(Stream source, long length, HttpResponse response, CancellationToken ct)
    {
        const int FlushEvery = 512 * 1024;
        var writer = response.BodyWriter;
        var remaining = length;
        var unflushed = 0;
        while (remaining > 0)
        {
            var memory = writer.GetMemory(FileBlock);
            var n = await source.ReadAsync(memory[..(int)Math.Min(memory.Length, remaining)], ct);
            if (n == 0) throw new IOException("blob is shorter than its recorded size");
            writer.Advance(n);
            remaining -= n;
            unflushed += n;
            if (unflushed >= FlushEvery || remaining == 0)
            {
                unflushed = 0;
                var flush = await writer.FlushAsync(ct);
                if (flush.IsCanceled || flush.IsCompleted) return;
            }
        }
    }

    private static RegistryException Unknown(Digest digest) =>
        new(ErrorCode.BlobUnknown, "blob unknown to registry", ErrorDetail.Of(("digest", digest.ToString())));
}

/// <summary>A single HTTP byte range (RFC 9110 §14.1.2); multiple ranges are answered with the whole blob.</summary>
internal static class ByteRange
{
    /// <summary>
    /// False when there is no usable Range header (serve everything). True with null when the range cannot be
    /// satisfied (416); true with (start, length) otherwise.
    /// </summary>
    public static bool TryParse(string header, long size, out (long Start, long Length)? range)
    {
        range = null;
        if (!header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase)) return false;
        var spec = header.AsSpan(6).Trim();
        if (spec.Contains(',')) return false;
        var dash = spec.IndexOf('-');
        if (dash < 0) return false;
        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        if (first.IsEmpty)
        {
            // suffix range: the last N bytes
            if (!long.TryParse(last, out var suffix) || suffix < 0) return false;
            if (suffix == 0 || size == 0) return true;
            var n = Math.Min(suffix, size);
            range = (size - n, n);
            return true;
        }
        if (!long.TryParse(first, out var start) || start < 0) return false;
        long end;
        if (last.IsEmpty) end = size - 1;
        else if (!long.TryParse(last, out end) || end < start) return false;
        if (start >= size) return true;
        end = Math.Min(end, size - 1);
        range = (start, end - start + 1);
        return true;
    }
}
