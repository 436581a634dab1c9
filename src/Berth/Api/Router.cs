using Berth.Auth;
using Berth.Core;
using Berth.Ui;

namespace Berth.Api;

/// <summary>The server's surfaces; each has its own handler, and writes its own errors and challenge.</summary>
internal enum Surface
{
    /// <summary>No surface owns the path: 404.</summary>
    None,
    Registry,
    Token,
    Management,
    Search,
    Live,
    Ready,
    Metrics,
    /// <summary>The web pages (Ui/WebUi.cs).</summary>
    Pages,
}

/// <summary>
/// The front door, one terminal middleware: picks the surface that owns the path and hands the request over.
/// It runs after <see cref="RequestTarget"/>, so it sees the path as sent and a dot segment cannot lead from one
/// surface into another.
/// </summary>
internal sealed class Router(RegistryApi registry, TokenEndpoint token, ManagementApi management, Health health, MetricsEndpoint metrics, WebUi pages, Authenticator auth, ILogger<Router> log)
{
    private const string ManagementPrefix = "/api/v1/";

    /// <summary>Every surface, by the paths it owns.</summary>
    public static Surface Pick(string path) => path switch
    {
        // First, for the hot path. The whole prefix, "/v2x" included: the registry API answers what it does not know,
        // with its own challenge.
        _ when path.StartsWith("/v2", StringComparison.Ordinal) => Surface.Registry,
        "/token" => Surface.Token,
        _ when path.StartsWith(ManagementPrefix, StringComparison.Ordinal) => Surface.Management,
        "/v1/search" => Surface.Search,
        "/healthz" => Surface.Live,
        "/readyz" => Surface.Ready,
        MetricsEndpoint.Path => Surface.Metrics,
        // The pages, at Docker Hub's addresses: "/", "/search", "/signin", "/r/NAME", "/u/NAMESPACE", "/settings/...", "/static/...".
        _ when WebUi.Owns(path) => Surface.Pages,
        _ => Surface.None,
    };

    public Task HandleAsync(HttpContext ctx)
    {
        // On every answer, as it always was: clients check it on /v2/, and nothing is gained by telling surfaces apart.
        ctx.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        var path = ctx.Request.Path.Value ?? "";
        return Pick(path) switch
        {
            Surface.Registry => registry.HandleAsync(ctx, path),
            Surface.Token => token.HandleAsync(ctx),
            Surface.Management => management.HandleAsync(ctx, path[ManagementPrefix.Length..]),
            Surface.Search => management.SearchAsync(ctx),
            Surface.Live => Health.LiveAsync(ctx),
            Surface.Ready => health.ReadyAsync(ctx),
            Surface.Metrics => metrics.HandleAsync(ctx),
            Surface.Pages => pages.HandleAsync(ctx, path),
            _ => NotFoundAsync(ctx),
        };
    }

    /// <summary>A path no surface owns. Credentials are checked first, so wrong ones are a 401 here as everywhere else.</summary>
    private async Task NotFoundAsync(HttpContext ctx)
    {
        // A browser (no credentials, asking for HTML) gets the pages' 404; clients get the error body as always.
        if (ctx.Request.Headers.Authorization.Count == 0 && ctx.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            await pages.NotFoundPageAsync(ctx);
            return;
        }
        try
        {
            await auth.AuthenticateAsync(ctx);
            throw new RegistryException(ErrorCode.NameUnknown, "no such endpoint");
        }
        catch (Exception e)
        {
            await ErrorResponse.WriteAsync(ctx, e, ErrorResponse.Basic, log);
        }
    }
}
