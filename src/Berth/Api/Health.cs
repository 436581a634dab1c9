using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Storage;

namespace Berth.Api;

/// <summary>
/// Probes for load balancers and orchestrators, without authentication and without detail an outsider could use:
/// <c>/healthz</c> answers while the process serves; <c>/readyz</c> only when the metadata database and the blob
/// storage answer too (a node that lost PostgreSQL or S3 is taken out of rotation, not restarted).
/// </summary>
internal sealed partial class Health(IEventLog events, IBlobStore blobs, ILogger<Health> log)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    // A digest nothing has: reading it asks the storage a question without moving any data.
    private static readonly Digest Probe = Digest.Parse("sha256:" + new string('0', 64));

    public static Task LiveAsync(HttpContext ctx) => WriteAsync(ctx, StatusCodes.Status200OK, "ok");

    public async Task ReadyAsync(HttpContext ctx)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        cts.CancelAfter(Timeout);
        string? failed = null;
        try
        {
            failed = "metadata";
            await events.LastIdAsync(cts.Token);
            failed = "storage";
            await blobs.GetAsync(Probe, 1, cts.Token);
            failed = null;
        }
        catch (Exception e) when (!ctx.RequestAborted.IsCancellationRequested)
        {
            NotReady(failed!, e);
        }
        await WriteAsync(ctx, failed is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable,
            failed is null ? "ready" : $"not ready: {failed} unreachable");
    }

    private static Task WriteAsync(HttpContext ctx, int status, string text)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-store";
        return HttpMethods.IsHead(ctx.Request.Method) ? Task.CompletedTask : ctx.Response.WriteAsync(text + "\n");
    }

    [LoggerMessage(EventId = 130, Level = LogLevel.Warning, Message = "readiness probe: {Part} unreachable")]
    private partial void NotReady(string part, Exception e);
}
