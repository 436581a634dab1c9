using System.Diagnostics;

namespace Berth.Hosting;

/// <summary>One line per request (method, path, status, duration, client), when <c>accessLog</c> is on.</summary>
internal sealed partial class AccessLog(ILogger<AccessLog> log)
{
    /// <summary>The category <see cref="LogFormat"/> writes as a bare request line.</summary>
    public static readonly string Category = typeof(AccessLog).FullName!;

    public async Task InvokeAsync(HttpContext ctx, RequestDelegate next)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await next(ctx);
        }
        finally
        {
            // The query string is left out: upload URLs carry digests only, but a proxy may add tokens.
            Request(ctx.Request.Method, ctx.Request.Path.Value ?? "", ctx.Response.StatusCode,
                Stopwatch.GetElapsedTime(start).TotalMilliseconds, ctx.Connection.RemoteIpAddress?.ToString() ?? "-");
        }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "{Method} {Path} {Status} {ElapsedMs:0.0}ms {Client}")]
    private partial void Request(string method, string path, int status, double elapsedMs, string client);
}
