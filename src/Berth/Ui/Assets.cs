using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Berth.Ui;

/// <summary>The stylesheet and script of the pages, embedded in the binary (no CDN, nothing on disk).</summary>
internal static class Assets
{
    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);

    private static readonly FrozenDictionary<string, Asset> All = new Dictionary<string, Asset>
    {
        ["berth.css"] = Load("berth.css", "text/css; charset=utf-8"),
        ["berth.js"] = Load("berth.js", "text/javascript; charset=utf-8"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static Asset Load(string name, string type)
    {
        using var stream = typeof(Assets).Assembly.GetManifestResourceStream("ui/" + name) ?? throw new InvalidOperationException($"asset {name} is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var bytes = copy.ToArray();
        return new Asset(bytes, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"");
    }

    public static async Task WriteAsync(HttpContext ctx, string name)
    {
        if (!All.TryGetValue(name, out var asset) || ctx.Request.Method is not ("GET" or "HEAD"))
        {
            throw WebUi.NotFound();
        }
        var response = ctx.Response;
        response.Headers.ETag = asset.ETag;
        response.Headers.CacheControl = "public, max-age=3600";
        response.Headers.XContentTypeOptions = "nosniff";
        if (ctx.Request.Headers.IfNoneMatch.ToString() == asset.ETag)
        {
            response.StatusCode = 304;
            return;
        }
        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Bytes.Length;
        if (ctx.Request.Method == "GET") await response.Body.WriteAsync(asset.Bytes, ctx.RequestAborted);
    }
}
