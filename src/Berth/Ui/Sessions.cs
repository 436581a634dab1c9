using System.Security.Cryptography;
using System.Text;
using Berth.Core.Access;
using Microsoft.AspNetCore.WebUtilities;

namespace Berth.Ui;

/// <summary>
/// The pages' sessions and anti-forgery tokens, both signed with one key every node shares (kept by
/// <see cref="ISharedSecrets"/> under <see cref="KeyName"/>).
/// <list type="bullet">
/// <item>Session cookie <c>berth_session</c>: the user's name, its expiry and a random id, signed (HMAC-SHA256);
/// HttpOnly, SameSite=Lax, Secure under HTTPS. Each request resolves the name through <see cref="SignInService.ResolveAsync"/>,
/// so a deleted user's cookie signs nobody in, and an administrator who lost the flag loses the pages at once.</item>
/// <item>Anti-forgery: a random <c>berth_csrf</c> cookie (HttpOnly, SameSite=Strict) and, in every form, its HMAC
/// (<see cref="FormToken"/>). A POST whose field does not match its cookie is refused before anything is read or changed.
/// Another site can neither read the cookie nor compute the HMAC, so it cannot forge the field.</item>
/// </list>
/// </summary>
internal sealed class Sessions(byte[] key, TimeProvider time)
{
    public const string KeyName = "ui-session.key";
    public const string SessionCookie = "berth_session";
    public const string CsrfCookie = "berth_csrf";
    public const string CsrfField = "_csrf";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Sets the session cookie for <paramref name="user"/>.</summary>
    public void SignIn(HttpContext ctx, string user)
    {
        var expires = time.GetUtcNow() + Lifetime;
        var payload = $"{user}\n{expires.ToUnixTimeSeconds()}\n{Convert.ToHexString(RandomNumberGenerator.GetBytes(12))}";
        var value = WebEncoders.Base64UrlEncode(Encoding.UTF8.GetBytes(payload)) + "." + Sign("session", payload);
        ctx.Response.Cookies.Append(SessionCookie, value, Cookie(ctx, SameSiteMode.Lax, expires));
    }

    public static void SignOut(HttpContext ctx) => ctx.Response.Cookies.Delete(SessionCookie, new CookieOptions { Path = "/" });

    /// <summary>The user name the session cookie vouches for, or null (none, tampered, expired).</summary>
    public string? User(HttpContext ctx)
    {
        var value = ctx.Request.Cookies[SessionCookie];
        if (string.IsNullOrEmpty(value) || value.Length > 1024) return null;
        var dot = value.IndexOf('.');
        if (dot <= 0) return null;
        string payload;
        try
        {
            payload = Encoding.UTF8.GetString(WebEncoders.Base64UrlDecode(value[..dot]));
        }
        catch (FormatException)
        {
            return null;
        }
        if (!Same(Sign("session", payload), value[(dot + 1)..])) return null;
        var parts = payload.Split('\n');
        if (parts.Length != 3 || !long.TryParse(parts[1], out var expires)) return null;
        return DateTimeOffset.FromUnixTimeSeconds(expires) > time.GetUtcNow() ? parts[0] : null;
    }

    /// <summary>The token every form of this page carries; sets the anti-forgery cookie when the browser has none.</summary>
    public string FormToken(HttpContext ctx)
    {
        var cookie = ctx.Request.Cookies[CsrfCookie];
        if (string.IsNullOrEmpty(cookie) || cookie.Length != 32)
        {
            cookie = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            ctx.Response.Cookies.Append(CsrfCookie, cookie, Cookie(ctx, SameSiteMode.Strict, null));
            // Later calls within this response see the same value.
            ctx.Request.Headers.Cookie = $"{CsrfCookie}={cookie}; {ctx.Request.Headers.Cookie}";
        }
        return Sign("csrf", cookie);
    }

    /// <summary>Whether a posted form carries the token that matches the browser's anti-forgery cookie.</summary>
    public bool IsGenuine(HttpContext ctx, string? field)
    {
        var cookie = ctx.Request.Cookies[CsrfCookie];
        return !string.IsNullOrEmpty(cookie) && !string.IsNullOrEmpty(field) && Same(Sign("csrf", cookie), field);
    }

    private string Sign(string purpose, string payload) =>
        WebEncoders.Base64UrlEncode(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(purpose + "\n" + payload)));

    private static bool Same(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    private static CookieOptions Cookie(HttpContext ctx, SameSiteMode sameSite, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        Secure = ctx.Request.IsHttps,
        SameSite = sameSite,
        Path = "/",
        Expires = expires,
    };
}

/// <summary>The pages' services, registered by <see cref="Hosting.ServerHost"/> with one line.</summary>
internal static class WebUiServices
{
    public static async Task AddWebUiAsync(this IServiceCollection services, ISharedSecrets secrets, TimeProvider time, CancellationToken ct)
    {
        var key = Convert.FromBase64String(await secrets.GetOrAddAsync(Sessions.KeyName, Sessions.NewKey, ct));
        services.AddSingleton(new Sessions(key, time));
        services.AddSingleton<RepositoryPages>();
        services.AddSingleton<AccountPages>();
        services.AddSingleton<WebUi>();
    }
}
