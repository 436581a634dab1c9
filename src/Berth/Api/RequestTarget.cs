using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace Berth.Api;

/// <summary>
/// The request path as the client sent it. Kestrel percent-decodes the target and then removes dot segments
/// (https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4) before filling <c>Request.Path</c>, so
/// <c>/v2/ns/../other/blobs/uploads/</c> (or with <c>%2e%2e</c>) would reach repository <c>other</c>, and
/// <c>/v2/../api/v1/...</c> the management API. The first middleware puts the raw path back, so every surface,
/// the access log included, decides on what was sent: a dot segment stays a segment, and fails the grammar of
/// a name, tag or digest like any other character that has no place there.
/// </summary>
internal static class RequestTarget
{
    public static Task RestoreAsync(HttpContext ctx, RequestDelegate next)
    {
        if (ctx.Features.Get<IHttpRequestFeature>()?.RawTarget is { } raw && PathOf(raw) is { } path) ctx.Request.Path = new PathString(path);
        return next(ctx);
    }

    /// <summary>
    /// The path of an origin-form or absolute-form target (https://www.rfc-editor.org/rfc/rfc9112#section-3.2), without
    /// the query; null for the other forms (<c>*</c>, authority-form), which Kestrel's path already describes.
    /// </summary>
    public static string? PathOf(string target)
    {
        var end = target.IndexOfAny(['?', '#']);
        // The usual request (origin-form, no query, nothing escaped) is its own path: no copy on the hot path.
        if (end < 0 && target.StartsWith('/') && !target.Contains('%')) return target;
        var path = end < 0 ? target.AsSpan() : target.AsSpan(0, end);
        if (path.IsEmpty || path[0] != '/')
        {
            var scheme = path.IndexOf("://");
            if (scheme <= 0) return null;
            var afterAuthority = path[(scheme + 3)..].IndexOf('/');
            path = afterAuthority < 0 ? "/" : path[(scheme + 3 + afterAuthority)..];
        }
        return Decode(path);
    }

    /// <summary>
    /// Decodes only the escapes of characters that names, tags, digests and account names may hold. Everything else
    /// stays escaped, so it cannot pass a grammar: an encoded slash cannot join two segments into one name.
    /// </summary>
    private static string Decode(ReadOnlySpan<char> path)
    {
        if (!path.Contains('%')) return path.ToString();
        var result = new StringBuilder(path.Length);
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '%' && i + 2 < path.Length && char.IsAsciiHexDigit(path[i + 1]) && char.IsAsciiHexDigit(path[i + 2]))
            {
                var c = (char)int.Parse(path.Slice(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or ':' or '+' or '=' or '@')
                {
                    result.Append(c);
                    i += 2;
                    continue;
                }
            }
            result.Append(path[i]);
        }
        return result.ToString();
    }
}
