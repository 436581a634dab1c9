using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Webhooks;
using Berth.Hosting;

namespace Berth.Api;

/// <summary>A hook as the API shows it: the secret only in the answer that created it.</summary>
internal sealed record WebhookView(long Id, string? Namespace, string Url, IReadOnlyList<string> Events, string Repositories, DateTimeOffset Created, bool Configured,
    string? Secret);

internal sealed record DeliveryView(long Id, long Event, string Kind, string State, int Attempts, DateTimeOffset? NextAttempt, int? LastStatus, string? LastError,
    DateTimeOffset Created, DateTimeOffset Updated);

internal sealed record TestDeliveryView(bool Delivered, int? Status, string? Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookView))]
[JsonSerializable(typeof(List<WebhookView>))]
[JsonSerializable(typeof(List<DeliveryView>))]
[JsonSerializable(typeof(TestDeliveryView))]
internal sealed partial class WebhooksJson : JsonSerializerContext
{
    public static WebhooksJson Api => field ??= new(JsonWire.Options(Default.Options));
}

/// <summary>
/// The webhook calls of the management API (docs/api.md, "Webhooks"); <see cref="WebhookAdministration"/> checks rights.
/// <c>/api/v1/webhooks</c> (site-wide, site administrators), <c>/api/v1/namespaces/NS/webhooks</c> (the namespace's
/// administrators), <c>/api/v1/webhooks/ID</c>, <c>.../deliveries</c>, <c>.../test</c>.
/// </summary>
internal sealed class WebhooksApi(WebhookAdministration admin, WebhookDispatcher dispatcher)
{
    /// <summary>Whether <paramref name="p"/> (the path under /api/v1/, split at '/') is one of these calls.</summary>
    public static bool Owns(string[] p) => p is ["webhooks", ..] or ["namespaces", _, "webhooks"];

    public async Task RouteAsync(HttpContext ctx, Caller caller, string[] p)
    {
        var ct = ctx.RequestAborted;
        switch (ctx.Request.Method, p)
        {
            case ("GET", ["webhooks"]):
                await ManagementApi.Json(ctx, (await admin.ListAsync(caller, null, ct)).Select(h => View(h, false)).ToList(), WebhooksJson.Api.ListWebhookView);
                break;
            case ("GET", ["namespaces", var ns, "webhooks"]):
                await ManagementApi.Json(ctx, (await admin.ListAsync(caller, ns, ct)).Select(h => View(h, false)).ToList(), WebhooksJson.Api.ListWebhookView);
                break;
            case ("POST", ["webhooks"]):
                await CreateAsync(ctx, caller, null);
                break;
            case ("POST", ["namespaces", var ns, "webhooks"]):
                await CreateAsync(ctx, caller, ns);
                break;
            case ("GET", ["webhooks", var id]):
                await ManagementApi.Json(ctx, View(await admin.GetAsync(caller, Id(id), ct), false), WebhooksJson.Api.WebhookView);
                break;
            case ("DELETE", ["webhooks", var id]):
                await admin.DeleteAsync(caller, Id(id), ct);
                ManagementApi.NoContent(ctx);
                break;
            case ("GET", ["webhooks", var id, "deliveries"]):
            {
                var limit = int.TryParse(ctx.Request.Query["n"], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? Math.Clamp(n, 1, 1000) : 100;
                var deliveries = await admin.ListDeliveriesAsync(caller, Id(id), limit, ct);
                await ManagementApi.Json(ctx, deliveries.Select(d => new DeliveryView(d.Id, d.Event, d.Kind, d.State, d.Attempts, d.NextAttempt, d.LastStatus, d.LastError,
                    d.Created, d.Updated)).ToList(), WebhooksJson.Api.ListDeliveryView);
                break;
            }
            case ("POST", ["webhooks", var id, "test"]):
            {
                var hook = await admin.GetAsync(caller, Id(id), ct);
                var (status, error) = await dispatcher.TestAsync(hook, ct);
                await ManagementApi.Json(ctx, new TestDeliveryView(error is null, status, error), WebhooksJson.Api.TestDeliveryView);
                break;
            }
            default:
                throw new RegistryException(ErrorCode.Unsupported, "no such webhook call");
        }
    }

    private async Task CreateAsync(HttpContext ctx, Caller caller, string? ns)
    {
        var body = await ManagementApi.BodyAsync(ctx);
        var events = body.TryGetProperty("events", out var e) && e.ValueKind == JsonValueKind.Array
            ? e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw new RegistryException(ErrorCode.InvalidRequest, "\"events\" holds strings")).ToList()
            : throw new RegistryException(ErrorCode.InvalidRequest, $"\"events\" (a list of {string.Join(", ", WebhookEvents.Names)}) is required");
        var hook = await admin.CreateAsync(caller, ns, ManagementApi.Str(body, "url"), OptionalString(body, "secret"), events, OptionalString(body, "repositories"), ctx.RequestAborted);
        await ManagementApi.Json(ctx, View(hook, true), WebhooksJson.Api.WebhookView, 201);
    }

    private static string? OptionalString(JsonElement body, string name) =>
        !body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString() : throw new RegistryException(ErrorCode.InvalidRequest, $"\"{name}\" is a string");

    private static long Id(string text) => long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
        ? id : throw new RegistryException(ErrorCode.NotFound, $"no webhook {ErrorDetail.Clip(text)}");

    private static WebhookView View(Webhook h, bool withSecret) => new(h.Id, h.Namespace, h.Url, h.Events, h.Repositories, h.Created, h.Configured,
        withSecret ? h.Secret : null);
}
