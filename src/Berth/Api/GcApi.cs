using Berth.Configuration;
using Berth.Core;
using Berth.Core.Access;
using Berth.Hosting;

namespace Berth.Api;

/// <summary>
/// <c>/api/v1/gc</c> (docs/api.md), site administrators only: <c>POST</c> runs garbage collection now and answers its
/// report (<c>?dryRun=true&amp;grace=0s&amp;untagged=delete</c> override the configuration); <c>GET</c> answers the last
/// run's report, from whichever node or CLI ran it.
/// </summary>
internal sealed class GcApi(GarbageCollection gc)
{
    public async Task HandleAsync(HttpContext ctx, Caller caller)
    {
        AccountRules.RequireSiteAdmin(caller);
        var ct = ctx.RequestAborted;
        switch (ctx.Request.Method)
        {
            case "GET":
                var last = await gc.LastAsync(ct) ?? throw new RegistryException(ErrorCode.NotFound, "garbage collection has not run yet");
                await WriteAsync(ctx, last);
                break;
            case "POST":
                var q = ctx.Request.Query;
                var dryRun = q["dryRun"].ToString() switch
                {
                    "" or "false" => false,
                    "true" => true,
                    var v => throw new RegistryException(ErrorCode.InvalidRequest, $"dryRun must be true or false, not \"{ErrorDetail.Clip(v)}\""),
                };
                TimeSpan? grace = q["grace"].ToString() is { Length: > 0 } g
                    ? ConfigLoader.TryParseDuration(g, out var d) ? d : throw new RegistryException(ErrorCode.InvalidRequest, $"grace must be a duration such as 0s, 30m or 1h, not \"{ErrorDetail.Clip(g)}\"")
                    : null;
                var untagged = q["untagged"].ToString() is { Length: > 0 } u ? u : null;
                if (untagged is not null && !(untagged is "keep" or "delete" || ConfigLoader.TryParseDuration(untagged, out _)))
                {
                    throw new RegistryException(ErrorCode.InvalidRequest, $"untagged must be keep, delete or a duration, not \"{ErrorDetail.Clip(untagged)}\"");
                }
                // The run goes on if the client leaves: stopping half way would only leave work for the next run.
                var report = await gc.RunExclusiveAsync(gc.Options(dryRun, grace, untagged), CancellationToken.None);
                await WriteAsync(ctx, System.Text.Json.JsonSerializer.Serialize(report, GcJson.Default.GcReport));
                break;
            default:
                throw new RegistryException(ErrorCode.Unsupported, "use GET (the last run) or POST (run now)");
        }
    }

    private static async Task WriteAsync(HttpContext ctx, string json)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json, ctx.RequestAborted);
    }
}
