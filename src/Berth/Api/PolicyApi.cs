using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Policies;

namespace Berth.Api;

internal sealed record TagDetailView(string Name, string Digest, DateTimeOffset Pushed, DateTimeOffset? LastPulled, long PullCount);

internal sealed record DanglingView(string Repository, string Manifest, string Target);

internal sealed record ScrubView(int Blobs, long Bytes, IReadOnlyList<ScrubFinding> Damaged, IReadOnlyList<DanglingView> Dangling, int Released, int Unchecked, double Seconds);

internal sealed record QuarantineView(string Digest, string Reason, DateTimeOffset Time);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UsageReport))]
[JsonSerializable(typeof(List<TagDetailView>))]
[JsonSerializable(typeof(RetentionReport))]
[JsonSerializable(typeof(ScrubView))]
[JsonSerializable(typeof(List<QuarantineView>))]
internal sealed partial class PolicyApiJson : JsonSerializerContext
{
    public static PolicyApiJson Api => field ??= new(JsonWire.Options(Default.Options));
}

/// <summary>
/// Policies and integrity under /api/v1/ (docs/api.md, "Policies"): policy documents per namespace and repository,
/// namespace usage, retention runs, tags with pull statistics, scrub and the quarantine. Rights are checked by
/// <see cref="PolicyService"/>; scrub and the quarantine are for site administrators.
/// </summary>
internal sealed class PolicyApi(PolicyService policies, RetentionService retention, ScrubService scrub, IIntegrity integrity, Quarantine quarantine,
    Configuration.BerthOptions options)
{
    /// <summary>Whether <see cref="ManagementApi"/> hands <paramref name="p"/> (the path split at '/') to this surface.</summary>
    public static bool Owns(string[] p) =>
        p is ["namespaces", _, "policies", _] or ["namespaces", _, "usage" or "retention"] or ["scrub"] or ["quarantine", ..]
        || (p.Length >= 3 && p[0] == "repository-policies") || (p.Length >= 2 && p[0] is "retention" or "tags");

    public async Task RouteAsync(HttpContext ctx, Caller caller, string[] p)
    {
        var ct = ctx.RequestAborted;
        var method = ctx.Request.Method;
        switch (method, p)
        {
            case (_, ["namespaces", var ns, "policies", var kind]):
                await DocumentAsync(ctx, caller, PolicyTarget.Namespace(RequireNamespace(ns)), kind);
                break;
            case (_, ["repository-policies", var kind, .. var rest]):
                await DocumentAsync(ctx, caller, RequireRepository(rest), kind);
                break;
            case ("GET", ["namespaces", var ns, "usage"]):
                await Json(ctx, await policies.UsageAsync(caller, RequireNamespace(ns), ct), PolicyApiJson.Api.UsageReport);
                break;
            case ("POST", ["namespaces", var ns, "retention"]):
                await RetentionAsync(ctx, caller, PolicyTarget.Namespace(RequireNamespace(ns)));
                break;
            case ("POST", ["retention", .. var rest]):
                await RetentionAsync(ctx, caller, RequireRepository(rest));
                break;
            case ("GET", ["tags", .. var rest]):
            {
                var name = RequireRepository(rest);
                var last = ctx.Request.Query["last"].ToString();
                var n = int.TryParse(ctx.Request.Query["n"].ToString(), out var v) && v > 0 ? Math.Min(v, 1000) : 100;
                var tags = await policies.ListTagsAsync(caller, name, last.Length == 0 ? null : last, n, ct)
                    ?? throw new RegistryException(ErrorCode.NameUnknown, "repository name not known to registry");
                await Json(ctx, tags.Select(t => new TagDetailView(t.Name, t.Digest.ToString(), t.Updated, t.LastPulled, t.PullCount)).ToList(), PolicyApiJson.Api.ListTagDetailView);
                break;
            }
            case ("POST", ["scrub"]):
            {
                AccountRules.RequireSiteAdmin(caller);
                var r = await scrub.RunAsync(options.ScrubParallelism, ct);
                await Json(ctx, new ScrubView(r.Blobs, r.Bytes, r.Damaged, r.Dangling.Select(d => new DanglingView(d.Repository, d.Manifest.ToString(), d.Target)).ToList(),
                    r.Released, r.Unchecked, r.Seconds), PolicyApiJson.Api.ScrubView);
                break;
            }
            case ("GET", ["quarantine"]):
                AccountRules.RequireSiteAdmin(caller);
                await Json(ctx, (await integrity.ListQuarantinedAsync(ct)).Select(q => new QuarantineView(q.Digest.ToString(), q.Reason, q.Time)).ToList(),
                    PolicyApiJson.Api.ListQuarantineView);
                break;
            case ("DELETE", ["quarantine", var digest]):
                AccountRules.RequireSiteAdmin(caller);
                if (!await integrity.ReleaseAsync(Digest.Parse(digest), ct)) throw new RegistryException(ErrorCode.NotFound, $"{ErrorDetail.Clip(digest)} is not quarantined");
                await quarantine.RefreshAsync(ct);
                ctx.Response.StatusCode = 204;
                break;
            default:
                throw new RegistryException(ErrorCode.Unsupported, $"{method} is not supported here");
        }
    }

    private async Task DocumentAsync(HttpContext ctx, Caller caller, string target, string kind)
    {
        var ct = ctx.RequestAborted;
        switch (ctx.Request.Method)
        {
            case "GET":
                var body = await policies.GetAsync(caller, target, kind, ct)
                    ?? throw new RegistryException(ErrorCode.NotFound, $"no {ErrorDetail.Clip(kind)} policy is set for {PolicyTarget.Describe(target)}");
                await Raw(ctx, body, 200);
                break;
            case "PUT":
                await Raw(ctx, (await policies.SetAsync(caller, target, kind, await BodyAsync(ctx), ct))!, 200);
                break;
            case "DELETE":
                await policies.SetAsync(caller, target, kind, null, ct);
                ctx.Response.StatusCode = 204;
                break;
            default:
                throw new RegistryException(ErrorCode.Unsupported, $"{ctx.Request.Method} is not supported here");
        }
    }

    private async Task RetentionAsync(HttpContext ctx, Caller caller, string target)
    {
        var dry = ctx.Request.Query["dryRun"].ToString();
        if (dry.Length > 0 && dry is not ("true" or "false")) throw new RegistryException(ErrorCode.InvalidRequest, "dryRun must be true or false");
        await policies.RequireAdminAsync(caller, target, ctx.RequestAborted);
        var report = await retention.RunAsync(target, dry == "true", ctx.RequestAborted);
        await Json(ctx, report, PolicyApiJson.Api.RetentionReport);
    }

    private static string RequireNamespace(string ns) =>
        AccountRules.IsValidName(ns) ? ns : throw new RegistryException(ErrorCode.NameInvalid, "invalid namespace name");

    private static string RequireRepository(string[] segments)
    {
        var name = string.Join('/', segments);
        return Names.IsValidRepository(name) ? name : throw new RegistryException(ErrorCode.NameInvalid, "invalid repository name");
    }

    private static async Task<string> BodyAsync(HttpContext ctx)
    {
        if (ctx.Request.ContentLength is > 65_536) throw new RegistryException(ErrorCode.TooLarge, "request body too large");
        using var buffer = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted);
        if (buffer.Length > 65_536) throw new RegistryException(ErrorCode.TooLarge, "request body too large");
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static async Task Raw(HttpContext ctx, string json, int status)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = bytes.Length;
        await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
    }

    private static async Task Json<T>(HttpContext ctx, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, type);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = bytes.Length;
        await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
    }
}
