namespace Berth.Api;

internal enum RouteKind
{
    Base,
    Catalog,
    Tags,
    Manifest,
    Blob,
    UploadStart,
    Upload,
    Referrers,
}

/// <summary>
/// A parsed <c>/v2/...</c> path. Repository names contain slashes, so the route is recognised by its
/// fixed tail (<c>/manifests/&lt;ref&gt;</c>, <c>/blobs/uploads/&lt;id&gt;</c>, ...) and everything before it is the name.
/// The name is returned as found; validating it is the caller's job, so that a bad name gets NAME_INVALID
/// rather than 404.
/// </summary>
internal readonly record struct V2Route(RouteKind Kind, string Name, string Argument)
{
    public static V2Route? Parse(string path)
    {
        if (!path.StartsWith("/v2", StringComparison.Ordinal)) return null;
        var rest = path.AsSpan(3);
        if (rest.IsEmpty || rest is "/") return new V2Route(RouteKind.Base, "", "");
        if (rest[0] != '/') return null;
        rest = rest[1..];
        if (rest is "_catalog") return new V2Route(RouteKind.Catalog, "", "");

        if (rest.EndsWith("/tags/list")) return Named(RouteKind.Tags, rest[..^"/tags/list".Length], "");
        if (rest.EndsWith("/blobs/uploads") || rest.EndsWith("/blobs/uploads/"))
        {
            return Named(RouteKind.UploadStart, rest[..rest.LastIndexOf("/blobs/uploads")], "");
        }

        var slash = rest.LastIndexOf('/');
        if (slash <= 0) return null;
        var last = rest[(slash + 1)..].ToString();
        var head = rest[..slash];
        var kindSlash = head.LastIndexOf('/');
        if (kindSlash <= 0) return null;
        var kind = head[(kindSlash + 1)..];
        var name = head[..kindSlash];
        if (last.Length == 0) return null;
        return kind switch
        {
            "manifests" => Named(RouteKind.Manifest, name, last),
            "blobs" => Named(RouteKind.Blob, name, last),
            "referrers" => Named(RouteKind.Referrers, name, last),
            "uploads" when name.EndsWith("/blobs") => Named(RouteKind.Upload, name[..^"/blobs".Length], last),
            _ => null,
        };
    }

    private static V2Route? Named(RouteKind kind, ReadOnlySpan<char> name, string argument) =>
        name.IsEmpty ? null : new V2Route(kind, name.ToString(), argument);
}
