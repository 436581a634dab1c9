using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Api;
using Berth.Core;
using Berth.Core.Access;

namespace Berth.Auth;

internal sealed record TokenResponse(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("expires_in")] int ExpiresIn,
    [property: JsonPropertyName("issued_at")] string IssuedAt,
    [property: JsonPropertyName("refresh_token")] string? RefreshToken,
    [property: JsonPropertyName("scope")] string? Scope);

/// <summary>
/// The Docker registry token endpoint (https://distribution.github.io/distribution/spec/auth/token/): GET with
/// Basic credentials or none (anonymous), and the OAuth2 POST with the password and refresh-token grants
/// (https://distribution.github.io/distribution/spec/auth/oauth/). The token lists, per requested scope, the
/// actions the decision function allows: never more than was asked. Refresh tokens come only from the POST grants.
/// </summary>
internal sealed class TokenEndpoint(Authenticator auth, TokenIssuer tokens, AccessControl access, SignInService accounts, AuditTrail audit, ILogger<TokenEndpoint> log)
{
    public async Task HandleAsync(HttpContext ctx)
    {
        try
        {
            await IssueAsync(ctx);
        }
        catch (Exception e)
        {
            await ErrorResponse.WriteAsync(ctx, e, ErrorResponse.Basic, log);
        }
    }

    private async Task IssueAsync(HttpContext ctx)
    {
        var ct = ctx.RequestAborted;
        Caller caller;
        List<string> scopes;
        var offline = false;
        string? refresh = null;
        if (ctx.Request.Method == "GET")
        {
            caller = await BasicOrAnonymousAsync(ctx);
            scopes = ctx.Request.Query["scope"].SelectMany(s => (s ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
            // docker login asks GET ?offline_token=true and stores a refresh token in place of the password, as an
            // "identitytoken" with an empty password: podman, buildah and skopeo then refuse that config.json and a
            // pull secret made from it holds no password. Docker Hub, Harbor and GitLab answer without one; so does Berth.
        }
        else if (ctx.Request.Method == "POST" && ctx.Request.HasFormContentType)
        {
            var form = await ctx.Request.ReadFormAsync(ct);
            scopes = form["scope"].SelectMany(s => (s ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
            switch (form["grant_type"].ToString())
            {
                case "password":
                    var name = form["username"].ToString();
                    var password = form["password"].ToString();
                    if (name.Length == 0) throw new RegistryException(ErrorCode.InvalidRequest, "the password grant needs username and password");
                    caller = await auth.SignInAsync(ctx, name, password);
                    offline = form["access_type"].ToString() == "offline";
                    break;
                case "refresh_token":
                    refresh = form["refresh_token"].ToString();
                    var subject = await tokens.ValidateRefreshAsync(refresh);
                    caller = (subject is { } s ? await accounts.ResolveAsync(s.Account, s.TokenId, ct) : null)
                        ?? throw new RegistryException(ErrorCode.Unauthorized, "the refresh token is invalid, expired or revoked");
                    caller = caller with { Address = auth.ClientAddress(ctx) };
                    break;
                default:
                    throw new RegistryException(ErrorCode.InvalidRequest, "grant_type must be password or refresh_token");
            }
        }
        else
        {
            throw new RegistryException(ErrorCode.Unsupported, "use GET with Basic credentials, or POST a form with grant_type");
        }

        var granted = await GrantAsync(caller, scopes, ct);
        var (token, issuedAt) = tokens.IssueAccess(caller, granted);
        if (offline && !caller.IsAnonymous)
        {
            refresh = tokens.IssueRefresh(caller);
            await audit.RecordAsync(caller, "token.issue", caller.Name!, true, "refresh token (docker identity token)", ct);
        }
        var body = new TokenResponse(token, token, (int)tokens.Lifetime.TotalSeconds, issuedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ"), refresh,
            ctx.Request.Method == "POST" ? string.Join(' ', granted.Where(g => g.Actions.Count > 0).Select(g => $"{g.Type}:{g.Name}:{string.Join(',', g.Actions)}")) : null);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, WireJson.Api.TokenResponse);
        ctx.Response.ContentType = "application/json";
        ctx.Response.Headers.CacheControl = "no-store";
        ctx.Response.ContentLength = bytes.Length;
        await ctx.Response.Body.WriteAsync(bytes, ct);
    }

    private async ValueTask<Caller> BasicOrAnonymousAsync(HttpContext ctx)
    {
        var header = ctx.Request.Headers.Authorization.ToString();
        if (header.Length == 0) return Caller.Anonymous with { Address = auth.ClientAddress(ctx) };
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) throw new RegistryException(ErrorCode.Unauthorized, "the token endpoint takes Basic credentials");
        var (name, secret) = Authenticator.ParseBasic(header[6..].Trim()) ?? throw new RegistryException(ErrorCode.Unauthorized, "malformed Basic credentials");
        return await auth.SignInAsync(ctx, name, secret);
    }

    /// <summary>"repository:NAME:pull,push" and "registry:catalog:*"; scopes that are malformed or of unknown type get nothing.</summary>
    private async Task<List<AccessEntry>> GrantAsync(Caller caller, List<string> scopes, CancellationToken ct)
    {
        var result = new List<AccessEntry>();
        foreach (var scope in scopes.Distinct().Take(50))
        {
            var first = scope.IndexOf(':');
            var last = scope.LastIndexOf(':');
            if (first <= 0 || last <= first) continue;
            var type = scope[..first];
            var name = scope[(first + 1)..last];
            var wanted = scope[(last + 1)..];
            if (type is "repository" or "repository(plugin)" && Names.IsValidRepository(name))
            {
                var actions = await access.DecideAsync(caller, name, AccessText.ParseActions(wanted), ct);
                result.Add(new AccessEntry("repository", name, AccessText.Names(actions)));
            }
            else if (type == "registry" && name == "catalog")
            {
                // Anyone may list the catalog; what each caller sees in it is filtered per repository.
                result.Add(new AccessEntry("registry", "catalog", wanted.Contains('*') ? ["*"] : []));
            }
        }
        return result;
    }
}
