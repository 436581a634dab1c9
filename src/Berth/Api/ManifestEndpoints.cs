using Berth.Core;
using Berth.Core.Policies;
using Berth.Core.Registry;
using Microsoft.Extensions.Primitives;

namespace Berth.Api;

/// <summary>Manifests by tag or digest. GET by tag is the registry's hottest path: a cache hit touches no I/O.</summary>
internal sealed class ManifestEndpoints(ManifestService manifests, PullStatistics pulls, QuotaService quotas, Quarantine quarantine)
{
    public async Task Get(HttpContext ctx, string name, string referenceText)
    {
        var reference = ParseForRead(referenceText);
        var manifest = await manifests.GetAsync(name, reference, ctx.RequestAborted)
            ?? throw new RegistryException(ErrorCode.ManifestUnknown, "manifest unknown to registry", ErrorDetail.Of(("reference", referenceText)));
        if (quarantine.Contains(manifest.Digest)) throw new RegistryException(ErrorCode.ManifestUnknown, $"manifest {manifest.DigestText} is quarantined: a scrub found its stored content damaged");
        if (!Accepts(ctx.Request.Headers.Accept, manifest.MediaType))
        {
            throw new RegistryException(ErrorCode.ManifestUnknown, $"the manifest is a {manifest.MediaType}, which the Accept header does not list",
                ErrorDetail.Of(("reference", referenceText), ("mediaType", manifest.MediaType)));
        }
        var response = ctx.Response;
        var headers = response.Headers;
        response.ContentType = manifest.MediaType;
        response.ContentLength = manifest.Content.Length;
        headers["Docker-Content-Digest"] = manifest.DigestText;
        headers.ETag = manifest.ETag;
        if (ctx.Request.Method == "HEAD") return;
        pulls.Record(name, reference.Tag, manifest.Digest);
        if (ctx.Request.Headers.IfNoneMatch == manifest.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            response.ContentLength = null;
            return;
        }
        await response.Body.WriteAsync(manifest.Content, ctx.RequestAborted);
    }

    public async Task Put(HttpContext ctx, string name, string referenceText)
    {
        var reference = Reference.Parse(referenceText);
        var max = manifests.MaxManifestSize;
        if (ctx.Request.ContentLength > max) throw new RegistryException(ErrorCode.TooLarge, $"manifest is larger than {max} bytes");
        var body = await ReadBodyAsync(ctx.Request.Body, max, ctx.RequestAborted);
        await quotas.CheckAsync(name, reference.Digest, _ => ValueTask.FromResult((long)body.Length), "manifest", ctx.RequestAborted);
        var pushed = await manifests.PutAsync(name, reference, ctx.Request.ContentType, body, ctx.RequestAborted);
        var headers = ctx.Response.Headers;
        ctx.Response.StatusCode = StatusCodes.Status201Created;
        headers.Location = $"/v2/{name}/manifests/{pushed.Digest}";
        headers["Docker-Content-Digest"] = pushed.Digest.ToString();
        if (pushed.Subject is { } subject) headers["OCI-Subject"] = subject.ToString();
        ctx.Response.ContentLength = 0;
    }

    public async Task Delete(HttpContext ctx, string name, string referenceText)
    {
        var reference = ParseForRead(referenceText);
        if (!await manifests.DeleteAsync(name, reference, ctx.RequestAborted))
        {
            throw new RegistryException(ErrorCode.ManifestUnknown, "manifest unknown to registry", ErrorDetail.Of(("reference", referenceText)));
        }
        ctx.Response.StatusCode = StatusCodes.Status202Accepted;
        ctx.Response.ContentLength = 0;
    }

    /// <summary>
    /// A tag that the grammar forbids cannot have been pushed, so reading or deleting it is 404 like any
    /// other unknown tag (the conformance suite asks exactly that); only pushes get TAG_INVALID.
    /// </summary>
    private static Reference ParseForRead(string referenceText) =>
        referenceText.Contains(':') || Names.IsValidTag(referenceText)
            ? Reference.Parse(referenceText)
            : throw new RegistryException(ErrorCode.ManifestUnknown, "manifest unknown to registry", ErrorDetail.Of(("reference", ErrorDetail.Clip(referenceText))));

    /// <summary>
    /// True when the client accepts <paramref name="mediaType"/>: no Accept header, a wildcard, or the type listed.
    /// Distribution also down-converts for clients from before manifest lists; none are in use any more.
    /// </summary>
    internal static bool Accepts(StringValues accept, string mediaType)
    {
        if (accept.Count == 0) return true;
        foreach (var value in accept)
        {
            if (string.IsNullOrEmpty(value)) return true;
            // Without allocating: every manifest GET comes here.
            var rest = value.AsSpan();
            while (true)
            {
                var comma = rest.IndexOf(',');
                var range = comma < 0 ? rest : rest[..comma];
                var semi = range.IndexOf(';');
                var essence = (semi < 0 ? range : range[..semi]).Trim();
                if (essence.IsWhiteSpace() || essence.Equals(mediaType, StringComparison.OrdinalIgnoreCase)
                    || essence.Equals("*/*", StringComparison.Ordinal) || essence.Equals("application/*", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
                if (comma < 0) break;
                rest = rest[(comma + 1)..];
            }
        }
        return false;
    }

    /// <summary>Reads at most <paramref name="max"/> bytes; more is refused with 413 without buffering it.</summary>
    private static async Task<byte[]> ReadBodyAsync(Stream body, int max, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + n > max) throw new RegistryException(ErrorCode.TooLarge, $"manifest is larger than {max} bytes");
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }
}
