using System.Diagnostics;
using Berth.Core.Observability;

namespace Berth.Hosting;

/// <summary>
/// The first middleware after <see cref="Api.RequestTarget"/>: gives each request its id (a sane incoming
/// <c>X-Request-Id</c>, else Kestrel's connection-and-sequence identifier), answers it in <c>X-Request-Id</c>, makes it the
/// <see cref="RequestContext"/> that log lines, error bodies and events read, and counts the request in
/// <see cref="RegistryMetrics"/>. Per request: one small object, one header, a clock read and a histogram observation.
/// </summary>
internal sealed class RequestTracing(RegistryMetrics metrics, Auth.Authenticator auth)
{
    public const string Header = "X-Request-Id";

    /// <summary>Longest incoming id kept; a longer or odd one is replaced, so a client cannot put anything it likes in every log line.</summary>
    public const int MaxIdLength = 64;

    public async Task InvokeAsync(HttpContext ctx, RequestDelegate next)
    {
        var start = Stopwatch.GetTimestamp();
        var request = ctx.Request;
        var id = request.Headers[Header] is { Count: 1 } incoming && IsSane(incoming[0]) ? incoming[0]! : ctx.TraceIdentifier;
        var path = request.Path.Value ?? "";
        var method = request.Method;
        var context = new RequestContext(id, method, path);
        // Writes record where they came from, also when anonymous (signing in sets it too); reads skip the string.
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method)) context.Address = auth.ClientAddress(ctx);
        RequestContext.Current = context;
        ctx.Response.Headers[Header] = id;
        var route = RouteNames.Of(path);
        var upload = ReferenceEquals(route, RouteNames.Upload) && !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method) && !HttpMethods.IsDelete(method);
        if (upload) metrics.UploadStarted();
        try
        {
            await next(ctx);
        }
        finally
        {
            if (upload) metrics.UploadEnded();
            var response = ctx.Response;
            metrics.RequestServed(route, method, response.StatusCode, Stopwatch.GetElapsedTime(start).TotalSeconds);
            // Bodies as their Content-Length declares them (a chunked request body is not counted; HEAD sends no body).
            metrics.BytesReceived(request.ContentLength ?? 0);
            if (!HttpMethods.IsHead(method)) metrics.BytesSent(response.ContentLength ?? 0);
        }
    }

    private static bool IsSane(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength) return false;
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')) return false;
        }
        return true;
    }
}
