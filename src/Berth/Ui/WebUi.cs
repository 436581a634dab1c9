using System.Text;
using Berth.Api;
using Berth.Auth;
using Berth.Core;
using Berth.Core.Access;

namespace Berth.Ui;

/// <summary>One request to the pages: who asks, and the anti-forgery token its forms carry.</summary>
internal sealed class PageContext(HttpContext ctx, Caller caller, Sessions sessions)
{
    private string? _csrf;

    public HttpContext Http => ctx;
    public Caller Caller => caller;
    public CancellationToken Ct => ctx.RequestAborted;
    public IFormCollection Form { get; set; } = FormCollection.Empty;
    public string Csrf => _csrf ??= sessions.FormToken(ctx);

    /// <summary>The hidden field every form starts with.</summary>
    public Markup CsrfField => Html.Of($"<input type=\"hidden\" name=\"{Sessions.CsrfField}\" value=\"{Csrf}\">");

    public string Query(string name) => ctx.Request.Query[name].ToString();

    public string Field(string name) => Form[name].ToString();
}

/// <summary>
/// The web pages (docs/architecture.md, "Web pages"): server-rendered HTML on the registry's own port, at the addresses
/// Docker Hub uses. Every read and change goes through the account and registry services the management API uses, so
/// the rights are the same; a repository the caller may not pull answers exactly like a missing one. Catches its own
/// failures and answers them as pages.
/// </summary>
internal sealed partial class WebUi(Sessions sessions, SignInService signIn, Authenticator auth, RepositoryPages repositories, AccountPages accounts,
    TimeProvider time, ILogger<WebUi> log)
{
    private const int MaxFormBytes = 256 * 1024;

    /// <summary>Paths the pages own (Router.Pick asks).</summary>
    public static bool Owns(string path) => path switch
    {
        "/" or "/search" or "/signin" or "/signout" or "/settings" => true,
        _ => path.StartsWith("/r/", StringComparison.Ordinal) || path.StartsWith("/u/", StringComparison.Ordinal)
            || path.StartsWith("/settings/", StringComparison.Ordinal) || path.StartsWith("/static/", StringComparison.Ordinal),
    };

    public async Task HandleAsync(HttpContext ctx, string path)
    {
        var started = time.GetTimestamp();
        try
        {
            if (path.StartsWith("/static/", StringComparison.Ordinal))
            {
                await Assets.WriteAsync(ctx, path["/static/".Length..]);
                return;
            }
            var method = ctx.Request.Method;
            if (method is not ("GET" or "HEAD" or "POST")) throw new RegistryException(ErrorCode.Unsupported, $"{method} is not supported here");
            var page = new PageContext(ctx, await CallerAsync(ctx), sessions);
            if (method == "POST")
            {
                if (ctx.Request.ContentLength is > MaxFormBytes) throw new RegistryException(ErrorCode.TooLarge, "the form is too large");
                if (!ctx.Request.HasFormContentType) throw new UiRefusal(400, "Not a form", "This address takes an HTML form.");
                ctx.Features.Set<Microsoft.AspNetCore.Http.Features.IFormFeature>(new Microsoft.AspNetCore.Http.Features.FormFeature(ctx.Request,
                    new Microsoft.AspNetCore.Http.Features.FormOptions { ValueLengthLimit = MaxFormBytes, MultipartBodyLengthLimit = MaxFormBytes, ValueCountLimit = 64 }));
                page.Form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
                // Before anything is read or changed: a form that did not come from one of our pages is refused.
                if (!sessions.IsGenuine(ctx, page.Field(Sessions.CsrfField)))
                {
                    throw new UiRefusal(403, "Form refused", "This form did not carry a valid anti-forgery token (it was not sent from this site, or it has expired). Nothing was changed; reload the page and try again.");
                }
            }
            await RouteAsync(page, path);
        }
        catch (Exception e)
        {
            await FailAsync(ctx, e);
        }
        finally
        {
            PageServed(log, ctx.Request.Method, path, ctx.Response.StatusCode, time.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private Task RouteAsync(PageContext p, string path)
    {
        var post = p.Http.Request.Method == "POST";
        return (post, path) switch
        {
            (false, "/") => repositories.HomeAsync(p),
            (false, "/search") => repositories.SearchAsync(p),
            (false, "/signin") => accounts.SignInFormAsync(p, null),
            (true, "/signin") => SignInAsync(p),
            (true, "/signout") => SignOutAsync(p),
            (_, "/settings") => Redirect(p, "/settings/tokens"),
            _ when path.StartsWith("/r/", StringComparison.Ordinal) => repositories.RouteAsync(p, post, path[3..]),
            _ when path.StartsWith("/u/", StringComparison.Ordinal) => accounts.NamespaceRouteAsync(p, post, path[3..]),
            _ when path.StartsWith("/settings/", StringComparison.Ordinal) => accounts.SettingsRouteAsync(p, post, path["/settings/".Length..]),
            _ => throw NotFound(),
        };
    }

    private async Task SignInAsync(PageContext p)
    {
        var name = p.Field("username").Trim();
        var password = p.Field("password");
        var result = await signIn.SignInAsync(name, password, auth.ClientAddress(p.Http), p.Ct);
        if (result.Caller is { TokenId: null, Kind: AccountKind.User } caller)
        {
            sessions.SignIn(p.Http, caller.Name!);
            await Redirect(p, SafeReturn(p.Field("return")));
            return;
        }
        // An access token is for clients: a page session has the account's full rights, which a scoped token must not grant.
        var error = result.Caller is not null ? "Sign in with your password; access tokens are for clients." : result.Error;
        if (result.RetryAfter is { } retry) p.Http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        p.Http.Response.StatusCode = result.RetryAfter is not null ? 429 : 401;
        await accounts.SignInFormAsync(p, error);
    }

    private static Task SignOutAsync(PageContext p)
    {
        Sessions.SignOut(p.Http);
        return Redirect(p, "/");
    }

    /// <summary>Only a path of this site: never another origin, never "//host".</summary>
    public static string SafeReturn(string? target) =>
        target is { Length: > 0 } t && t[0] == '/' && !t.StartsWith("//", StringComparison.Ordinal) && !t.Contains('\\') && Owns(t.Split('?')[0]) ? t : "/";

    /// <summary>
    /// The session's user. Credentials in an Authorization header (a client, a script) are checked as on every other
    /// surface: wrong ones are a 401, never downgraded to anonymous; right ones act with their own rights, scopes included.
    /// </summary>
    private async ValueTask<Caller> CallerAsync(HttpContext ctx)
    {
        if (ctx.Request.Headers.Authorization.Count > 0) return await auth.LiveAsync(ctx, await auth.AuthenticateAsync(ctx));
        if (sessions.User(ctx) is not { } name) return Caller.Anonymous;
        var caller = await signIn.ResolveAsync(name, null, ctx.RequestAborted);
        if (caller is not { Kind: AccountKind.User })
        {
            Sessions.SignOut(ctx);
            return Caller.Anonymous;
        }
        return caller with { Address = auth.ClientAddress(ctx) };
    }

    public static Task Redirect(PageContext p, string location)
    {
        p.Http.Response.StatusCode = 303;
        p.Http.Response.Headers.Location = location;
        p.Http.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    public static UiRefusal NotFound() => new(404, "Not found", "There is nothing here, or you may not see it.");

    private async Task FailAsync(HttpContext ctx, Exception e)
    {
        if (ctx.Response.HasStarted)
        {
            if (e is not OperationCanceledException) log.LogWarning(e, "page failed after the response started");
            ctx.Abort();
            return;
        }
        if (e is RegistryException { Code: ErrorCode.Unauthorized or ErrorCode.TooManyRequests })
        {
            // Refused credentials in an Authorization header: the client gets the error body and Basic challenge of every other surface.
            await ErrorResponse.WriteAsync(ctx, e, ErrorResponse.Basic, log);
            return;
        }
        if (e is UiRefusal { Status: 401 } && ctx.Request.Method is "GET" or "HEAD")
        {
            // A page for signed-in users: sign in first, then come back.
            ctx.Response.StatusCode = 303;
            ctx.Response.Headers.Location = "/signin?return=" + Uri.EscapeDataString(ctx.Request.Path.Value + ctx.Request.QueryString.Value);
            return;
        }
        var (status, title, message) = e switch
        {
            UiRefusal r => (r.Status, r.Title, r.Message),
            // A repository or account the caller may not see is missing, whatever the service said.
            RegistryException { Code: ErrorCode.NameUnknown or ErrorCode.ManifestUnknown or ErrorCode.NotFound } => (404, "Not found", "There is nothing here, or you may not see it."),
            RegistryException r => (ErrorTable.Of(r.Code).Status, "Not done", r.Message),
            BadHttpRequestException b => (b.StatusCode, "Bad request", "The request could not be read."),
            InvalidDataException => (400, "Bad request", "The form could not be read."),
            OperationCanceledException or IOException when ctx.RequestAborted.IsCancellationRequested => (0, "", ""),
            _ => (500, "Something went wrong", "The registry's log has the details."),
        };
        if (status == 0) return;
        if (status == 500) log.LogError(e, "{Method} {Path} failed", ctx.Request.Method, ctx.Request.Path.Value);
        ctx.Response.Headers.Remove("Location");
        ctx.Response.StatusCode = status;
        Caller caller;
        try
        {
            caller = ctx.Request.Headers.Authorization.Count > 0 ? Caller.Anonymous : await CallerAsync(ctx);
        }
        catch (Exception)
        {
            caller = Caller.Anonymous;
        }
        var p = new PageContext(ctx, caller, sessions);
        var body = new Html();
        body.Add($"<h1>{title}</h1><p class=\"notice error\" role=\"alert\">{message}</p><p><a href=\"/\">Back to the start page</a></p>");
        await WriteAsync(p, title, body, status);
    }

    /// <summary>The 404 page for a path no surface owns, when a browser asked (Router).</summary>
    public Task NotFoundPageAsync(HttpContext ctx) => FailAsync(ctx, NotFound());

    /// <summary>Writes <paramref name="body"/> inside the page frame: header with search and account, main, footer.</summary>
    public static async Task WriteAsync(PageContext p, string title, Html body, int status = 200)
    {
        var page = new Html();
        var c = p.Caller;
        page.Add($"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{title} · Berth</title><link rel="stylesheet" href="/static/berth.css"><script src="/static/berth.js" defer></script></head>
            <body><a class="skip" href="#main">Skip to content</a>
            <header class="top"><a class="brand" href="/">Berth</a>
            <form class="search" action="/search" method="get" role="search">
            <input type="search" id="q" name="q" placeholder="Search repositories" aria-label="Search repositories" value="{p.Query("q")}"><button type="submit">Search</button></form>
            <nav aria-label="Account">
            """);
        if (c.IsAnonymous)
        {
            page.Add($"<a href=\"/signin\">Sign in</a>");
        }
        else
        {
            page.Add($"<a href=\"/settings/repositories/new\">New repository</a><a href=\"/u/{c.Name}\">{c.Name}</a><a href=\"/settings/tokens\">Settings</a>");
            if (c.IsAdmin) page.Add($"<a href=\"/settings/admin\">Admin</a>");
            page.Add($"<form class=\"inline\" method=\"post\" action=\"/signout\">{p.CsrfField}<button class=\"link\" type=\"submit\">Sign out</button></form>");
        }
        page.Add($"</nav></header><main id=\"main\" tabindex=\"-1\">").Raw(new Markup(body.ToString()));
        page.Add($"</main><footer>Berth container registry</footer></body></html>");

        var bytes = Encoding.UTF8.GetBytes(page.ToString());
        var response = p.Http.Response;
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        var h = response.Headers;
        // Defence in depth behind the sanitizer: only our own script and style ever run, forms post only here.
        h.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        h.XContentTypeOptions = "nosniff";
        h["Referrer-Policy"] = "same-origin";
        h.CacheControl = "no-store";
        response.ContentLength = bytes.Length;
        if (p.Http.Request.Method != "HEAD") await response.Body.WriteAsync(bytes, p.Ct);
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Debug, Message = "page {Method} {Path}: {Status} in {Milliseconds:0.0} ms")]
    private static partial void PageServed(ILogger log, string method, string path, int status, double milliseconds);
}

/// <summary>A page refused with a status and a message for people.</summary>
internal sealed class UiRefusal(int status, string title, string message) : Exception(message)
{
    public int Status => status;
    public string Title => title;
}
