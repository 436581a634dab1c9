using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Access;
using Berth.Core.Policies;

namespace Berth.Api;

/// <summary>Blob uploads: monolithic, chunked and streamed, and cross-repository mounts.</summary>
internal sealed class UploadEndpoints(UploadService uploads, BlobService blobs, QuotaService quotas)
{
    public async Task Start(HttpContext ctx, string name, Caller caller)
    {
        var query = ctx.Request.Query;
        var ct = ctx.RequestAborted;
        if (query.TryGetValue("mount", out var mount) && Digest.TryParse(mount.ToString(), out var mountDigest))
        {
            var from = query["from"].ToString();
            // A malformed "from" cannot name a repository; the spec then asks for a plain upload session.
            if (from.Length == 0 || Names.IsValidRepository(from))
            {
                // The source must be readable by the caller, or the mount quietly becomes an upload: nothing tells
                // the caller whether the blob exists in a repository it may not see.
                await quotas.CheckAsync(name, mountDigest, _ => ValueTask.FromResult(0L), "mount", ct);
                var mounted = await blobs.MountAsync(name, mountDigest, from.Length == 0 ? null : from, caller, ct);
                if (mounted is not null)
                {
                    Created(ctx, name, mountDigest);
                    return;
                }
            }
        }

        // Parsed before the session exists, so a malformed digest leaves nothing behind.
        Digest? monolithic = query.TryGetValue("digest", out var digestText) ? Digest.Parse(digestText.ToString()) : null;
        if (monolithic is not null) await quotas.CheckAsync(name, monolithic, _ => ValueTask.FromResult(ctx.Request.ContentLength ?? 0), "blob", ct);
        var session = await uploads.StartAsync(name, ct);
        if (monolithic is { } digest)
        {
            try
            {
                await uploads.CompleteAsync(name, session.Id, digest, new Chunk(ctx.Request.Body, DeclaredLength: ctx.Request.ContentLength), ct);
            }
            catch
            {
                // The client never learnt this session's Location, so nobody can resume it: drop it and its data now.
                await uploads.AbandonAsync(session.Id, CancellationToken.None);
                throw;
            }
            Created(ctx, name, digest);
            return;
        }
        Accepted(ctx, session, StatusCodes.Status202Accepted);
    }

    public async Task Patch(HttpContext ctx, string name, string id)
    {
        var (start, end) = ContentRange(ctx);
        try
        {
            // Not RequestAborted: once the client is gone it is signalled, and reads with it would throw away the bytes Kestrel
            // still holds, which the upload keeps so the client can resume. The body read ends by itself with the connection,
            // and Kestrel's minimum data rate ends a stalled one.
            var session = await uploads.AppendAsync(name, id, new Chunk(ctx.Request.Body, start, end, ctx.Request.ContentLength), CancellationToken.None);
            Accepted(ctx, session, StatusCodes.Status202Accepted);
        }
        catch (RegistryException e) when (e.Code == ErrorCode.RangeInvalid)
        {
            // Tell the client where the upload really stands, so it can resume from there.
            Accepted(ctx, await uploads.GetAsync(name, id, ctx.RequestAborted), StatusCodes.Status416RangeNotSatisfiable);
            throw;
        }
    }

    public async Task Put(HttpContext ctx, string name, string id)
    {
        var ct = ctx.RequestAborted;
        var digestText = ctx.Request.Query["digest"].ToString();
        if (digestText.Length == 0) throw new RegistryException(ErrorCode.DigestInvalid, "the digest query parameter is required to complete an upload");
        var digest = Digest.Parse(digestText);
        var (start, end) = ContentRange(ctx);
        await quotas.CheckAsync(name, digest, async c => (await uploads.GetAsync(name, id, c)).Size + (ctx.Request.ContentLength ?? 0), "blob", ct);
        var hasBody = ctx.Request.ContentLength is > 0 || (ctx.Request.ContentLength is null && ctx.Request.Headers.TransferEncoding.Count > 0);
        await uploads.CompleteAsync(name, id, digest, hasBody ? new Chunk(ctx.Request.Body, start, end, ctx.Request.ContentLength) : null, ct);
        Created(ctx, name, digest);
    }

    public async Task Status(HttpContext ctx, string name, string id)
    {
        var session = await uploads.GetAsync(name, id, ctx.RequestAborted);
        Accepted(ctx, session, StatusCodes.Status204NoContent);
    }

    public async Task Cancel(HttpContext ctx, string name, string id)
    {
        await uploads.CancelAsync(name, id, ctx.RequestAborted);
        ctx.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static void Created(HttpContext ctx, string name, Digest digest)
    {
        ctx.Response.StatusCode = StatusCodes.Status201Created;
        ctx.Response.Headers.Location = $"/v2/{name}/blobs/{digest}";
        ctx.Response.Headers["Docker-Content-Digest"] = digest.ToString();
        ctx.Response.ContentLength = 0;
    }

    private static void Accepted(HttpContext ctx, UploadSession session, int status)
    {
        var headers = ctx.Response.Headers;
        ctx.Response.StatusCode = status;
        headers.Location = $"/v2/{session.Repository}/blobs/uploads/{session.Id}";
        headers["Docker-Upload-UUID"] = session.Id;
        // Distribution's convention: "0-0" for an empty upload, else the inclusive range received.
        headers.Range = $"0-{Math.Max(session.Size - 1, 0)}";
        ctx.Response.ContentLength = 0;
    }

    /// <summary>Content-Range of a chunk: "start-end" per the OCI spec; "bytes start-end" and "bytes=start-end" are tolerated.</summary>
    private static (long? Start, long? End) ContentRange(HttpContext ctx)
    {
        var value = ctx.Request.Headers.ContentRange.ToString().Trim();
        if (value.Length == 0) return (null, null);
        if (value.StartsWith("bytes", StringComparison.OrdinalIgnoreCase)) value = value[5..].TrimStart(' ', '=');
        var slash = value.IndexOf('/');
        if (slash >= 0) value = value[..slash];
        var dash = value.IndexOf('-');
        if (dash > 0 && long.TryParse(value[..dash], out var start) && long.TryParse(value[(dash + 1)..], out var end) && start >= 0 && end >= start)
        {
            return (start, end);
        }
        throw new RegistryException(ErrorCode.RangeInvalid, "malformed Content-Range: expected start-end");
    }
}
