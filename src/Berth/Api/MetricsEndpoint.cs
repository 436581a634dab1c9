using System.Net;
using Berth.Auth;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Access;
using Berth.Hosting;

namespace Berth.Api;

/// <summary>
/// <c>GET /metrics</c>, Prometheus' text format. With <c>metrics.listen</c> it is served on that address alone (plain HTTP,
/// to whoever reaches it: bind it to loopback or a monitoring network) and the main port answers 404; without, the main port
/// serves it to loopback clients (the address after <c>trustProxy</c>) and to site administrators, and refuses others.
/// The numbers are counts and sizes only: no repository or account name is a label.
/// </summary>
internal sealed class MetricsEndpoint(RegistryMetrics metrics, Authenticator auth, BerthOptions options, ILogger<MetricsEndpoint> log)
{
    public const string Path = "/metrics";

    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The surface on the main port.</summary>
    public async Task HandleAsync(HttpContext ctx)
    {
        try
        {
            if (options.Observability.MetricsListen is not null) throw new RegistryException(ErrorCode.NameUnknown, "no such endpoint");
            if (!IPAddress.TryParse(auth.ClientAddress(ctx), out var client) || !IPAddress.IsLoopback(client))
            {
                var caller = await auth.AuthenticateAsync(ctx);
                if (caller.IsAnonymous) throw new RegistryException(ErrorCode.Unauthorized, "metrics are for site administrators; sign in with Basic credentials");
                AccountRules.RequireSiteAdmin(caller);
            }
            await WriteAsync(ctx);
        }
        catch (Exception e)
        {
            await ErrorResponse.WriteAsync(ctx, e, ErrorResponse.Basic, log);
        }
    }

    /// <summary>
    /// In front of everything when <c>metrics.listen</c> is set: requests that came in on that port get the metrics (or 404
    /// for any other path); others go on. Nonzero ports only (checked with the setting), so the port tells them apart.
    /// </summary>
    public Func<HttpContext, RequestDelegate, Task> Separate(IReadOnlyList<IPEndPoint> endpoints)
    {
        var ports = endpoints.Select(e => e.Port).ToHashSet();
        return (ctx, next) =>
        {
            if (!ports.Contains(ctx.Connection.LocalPort)) return next(ctx);
            if (ctx.Request.Path.Value != Path || !(HttpMethods.IsGet(ctx.Request.Method) || HttpMethods.IsHead(ctx.Request.Method)))
            {
                ctx.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }
            return WriteAsync(ctx);
        };
    }

    private async Task WriteAsync(HttpContext ctx)
    {
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        ctx.Response.ContentType = ContentType;
        ctx.Response.Headers.CacheControl = "no-store";
        if (HttpMethods.IsHead(ctx.Request.Method)) return;
        await metrics.Registry.CollectAndExportAsTextAsync(ctx.Response.Body, ctx.RequestAborted);
    }
}
