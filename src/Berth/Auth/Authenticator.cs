using System.Net;
using System.Security.Cryptography;
using System.Text;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Access;

namespace Berth.Auth;

/// <summary>
/// Who sent a request: anonymous, Basic credentials (a password or an access token as the password), or a
/// bearer token from the token endpoint. Wrong credentials are refused outright (401), never downgraded to anonymous.
/// </summary>
internal sealed class Authenticator(SignInService accounts, TokenIssuer tokens, AccessControl access, BerthOptions options, TimeProvider time)
{
    /// <summary>Bound of the Basic cache (only verified credentials enter it, so only real clients fill it).</summary>
    public const long BasicCacheBytes = 4L << 20;

    // A verified Basic header, remembered briefly: PBKDF2 on every request of a push would cost ~0.1 s each.
    private readonly BoundedCache<string, (Caller Caller, long Generation)> _basic = new(BasicCacheBytes, StringComparer.Ordinal);

    /// <summary>The caller; anonymous ones carry no address (the hot path allocates nothing for them): ask <see cref="ClientAddress"/>.</summary>
    public async ValueTask<Caller> AuthenticateAsync(HttpContext ctx)
    {
        if (ctx.Request.Headers.Authorization.Count == 0) return Caller.Anonymous;
        var caller = await IdentifyAsync(ctx) with { Address = ClientAddress(ctx) };
        // Who acted, for the events this request's changes write (RequestContext is read by the stores).
        if (Core.Observability.RequestContext.Current is { } request) (request.Actor, request.Address) = (caller.Name, caller.Address);
        return caller;
    }

    private async ValueTask<Caller> IdentifyAsync(HttpContext ctx)
    {
        var header = ctx.Request.Headers.Authorization.ToString();
        if (header.Length == 0) return Caller.Anonymous;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var claims = tokens.Validated(header.AsSpan(7).Trim()) ?? await tokens.ValidateAccessAsync(header[7..].Trim());
            return claims?.Caller
                ?? throw new RegistryException(ErrorCode.Unauthorized, "the bearer token is invalid or has expired", challenge: AuthChallenge.InvalidToken);
        }
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            var (name, secret) = ParseBasic(header[6..].Trim()) ?? throw new RegistryException(ErrorCode.Unauthorized, "malformed Basic credentials");
            return await SignInAsync(ctx, name, secret);
        }
        throw new RegistryException(ErrorCode.Unauthorized, "unsupported authorization scheme; use Basic or Bearer");
    }

    /// <summary>Verifies a name and password (or access token), with the sign-in throttle; throws 401 or 429.</summary>
    public async ValueTask<Caller> SignInAsync(HttpContext ctx, string name, string secret)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(name + "\n" + secret)));
        var now = time.GetTimestamp();
        if (_basic.TryGet(key, now, out var hit) && hit.Generation == access.Generation) return hit.Caller;
        var result = await accounts.SignInAsync(name, secret, ClientAddress(ctx), ctx.RequestAborted);
        if (result.RetryAfter is { } retry)
        {
            ctx.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new RegistryException(ErrorCode.TooManyRequests, result.Error!);
        }
        var caller = result.Caller ?? throw new RegistryException(ErrorCode.Unauthorized, result.Error!);
        var cost = CacheCost.Of(key) + 128 + CacheCost.Of(caller.Name) + CacheCost.Of(caller.TokenId) + CacheCost.Of(caller.Address) + 64L * (caller.Scopes?.Count ?? 0);
        _basic.Set(key, (caller, access.Generation), cost, now + (long)(AccessControl.CacheTtl.TotalSeconds * time.TimestampFrequency));
        return caller;
    }

    /// <summary>
    /// The caller with the rights the database gives it now. A bearer token's access list covers repositories only;
    /// the catalog, search and the management API need the account behind it.
    /// </summary>
    public async ValueTask<Caller> LiveAsync(HttpContext ctx, Caller caller)
    {
        if (caller.Granted is null) return caller;
        if (caller.IsAnonymous) return Caller.Anonymous with { Address = caller.Address };
        var live = await accounts.ResolveAsync(caller.Name!, caller.TokenId, ctx.RequestAborted)
            ?? throw new RegistryException(ErrorCode.Unauthorized, "the account or token behind this bearer token no longer exists", challenge: AuthChallenge.InvalidToken);
        return live with { Address = caller.Address };
    }

    public static (string Name, string Secret)? ParseBasic(string encoded)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            var colon = text.IndexOf(':');
            return colon > 0 ? (text[..colon], text[(colon + 1)..]) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public string ClientAddress(HttpContext ctx)
    {
        if (options.TrustProxy && ctx.Request.Headers["X-Forwarded-For"].ToString() is { Length: > 0 } forwarded)
        {
            // The proxy appends the address it saw: the last entry is the only one nobody else could write.
            var last = forwarded.Split(',')[^1].Trim();
            if (IPAddress.TryParse(last, out var ip)) return ip.ToString();
        }
        return ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    }

    /// <summary>The token endpoint's URL as this client reaches the server.</summary>
    public string Realm(HttpContext ctx)
    {
        if (options.PublicUrl is { } url) return url + "/token";
        var scheme = ctx.Request.Scheme;
        var host = ctx.Request.Host.Value;
        if (options.TrustProxy)
        {
            if (ctx.Request.Headers["X-Forwarded-Proto"].ToString() is { Length: > 0 } proto) scheme = proto.Split(',')[0].Trim();
            if (ctx.Request.Headers["X-Forwarded-Host"].ToString() is { Length: > 0 } fwdHost) host = fwdHost.Split(',')[0].Trim();
        }
        return $"{scheme}://{host}/token";
    }

    /// <summary>The WWW-Authenticate header for a 401 on the registry API.</summary>
    public string BearerChallenge(HttpContext ctx, AuthChallenge? challenge)
    {
        var value = new StringBuilder($"Bearer realm=\"{Realm(ctx)}\",service=\"{tokens.Service}\"");
        if (challenge?.Scope is { } scope) value.Append($",scope=\"{scope}\"");
        if (challenge?.Error is { } error) value.Append($",error=\"{error}\"");
        return value.ToString();
    }

    /// <summary>The WWW-Authenticate header for a 401 everywhere else: the token endpoint, search, management, unknown paths.</summary>
    public const string BasicChallenge = "Basic realm=\"berth\", charset=\"UTF-8\"";
}
