using System.Text.Json;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Registry;

namespace Berth.Api;

/// <summary>The base endpoint, the catalog, tag lists and referrers.</summary>
internal sealed class ListEndpoints(ManifestService manifests, RepositoryDirectory repositories)
{
    /// <summary>Upper bound of one page; a larger <c>n</c> gets this many and a Link to the rest.</summary>
    public const int MaxPage = 10_000;

    private static readonly byte[] EmptyObject = "{}"u8.ToArray();

    public async Task Base(HttpContext ctx)
    {
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = EmptyObject.Length;
        if (ctx.Request.Method == "GET") await ctx.Response.Body.WriteAsync(EmptyObject);
    }

    /// <summary>The catalog: the repositories <paramref name="caller"/> may see (<see cref="RepositoryDirectory.CatalogAsync"/>).</summary>
    public async Task Catalog(HttpContext ctx, Caller caller)
    {
        var (limit, last) = Page(ctx);
        var names = await repositories.CatalogAsync(caller, last, limit + 1, ctx.RequestAborted);
        var page = Trim(ctx, names, limit, "/v2/_catalog");
        await WriteJson(ctx, new Catalog(page), WireJson.Api.Catalog);
    }

    public async Task Tags(HttpContext ctx, string name)
    {
        var (limit, last) = Page(ctx);
        var tags = await manifests.ListTagsAsync(name, last, limit + 1, ctx.RequestAborted)
            ?? throw new RegistryException(ErrorCode.NameUnknown, "repository name not known to registry", ErrorDetail.Of(("name", name)));
        var page = Trim(ctx, tags, limit, $"/v2/{name}/tags/list");
        await WriteJson(ctx, new TagList(name, page), WireJson.Api.TagList);
    }

    public async Task Referrers(HttpContext ctx, string name, string digestText)
    {
        var digest = Digest.Parse(digestText);
        var artifactType = ctx.Request.Query["artifactType"].ToString();
        var filter = string.IsNullOrEmpty(artifactType) ? null : artifactType;
        var referrers = await manifests.ListReferrersAsync(name, digest, filter, ctx.RequestAborted);
        if (filter is not null) ctx.Response.Headers["OCI-Filters-Applied"] = "artifactType";
        var index = new ImageIndex(2, MediaTypes.OciIndex,
            referrers.Select(r => new WireDescriptor(r.MediaType, r.Digest.ToString(), r.Size, r.ArtifactType, r.Annotations)).ToList());
        await WriteJson(ctx, index, WireJson.Api.ImageIndex, MediaTypes.OciIndex);
    }

    private static (int Limit, string? Last) Page(HttpContext ctx)
    {
        var query = ctx.Request.Query;
        var limit = MaxPage;
        if (query.TryGetValue("n", out var n) && n.Count > 0 && !string.IsNullOrEmpty(n[0]))
        {
            if (!int.TryParse(n[0], out limit) || limit < 0)
            {
                throw new RegistryException(ErrorCode.PaginationNumberInvalid, "n must be a non-negative integer");
            }
            limit = Math.Min(limit, MaxPage);
        }
        var last = query["last"].ToString();
        return (limit, string.IsNullOrEmpty(last) ? null : last);
    }

    /// <summary>Cuts the one extra row that was asked for and, when it existed, announces the next page.</summary>
    private static IReadOnlyList<string> Trim(HttpContext ctx, IReadOnlyList<string> rows, int limit, string path)
    {
        if (rows.Count <= limit) return rows;
        var page = rows.Take(limit).ToList();
        if (page.Count > 0)
        {
            ctx.Response.Headers.Link = $"<{path}?n={limit}&last={Uri.EscapeDataString(page[^1])}>; rel=\"next\"";
        }
        return page;
    }

    private static async Task WriteJson<T>(HttpContext ctx, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string contentType = "application/json")
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value, type);
        ctx.Response.ContentType = contentType;
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body, ctx.RequestAborted);
    }
}
