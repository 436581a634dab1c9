using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Api;
using Berth.Core.Metadata;
using Berth.Core.Webhooks;

namespace Berth.Hosting;

// distribution's notification envelope (docs: https://distribution.github.io/distribution/about/notifications/), field
// names as it writes them, so receivers written for registry:2 read Berth's.
internal sealed record Envelope(IReadOnlyList<EnvelopeEvent> Events);

internal sealed record EnvelopeEvent(string Id, DateTimeOffset Timestamp, string Action, EventTarget Target, EventRequest Request, EventActor Actor, EventSource Source);

internal sealed record EventTarget(string? MediaType, string? Digest, long? Size, long? Length, string? Repository, string? Url, string? Tag);

internal sealed record EventRequest(string? Id, string? Addr, string? Host, string? Method,
    [property: JsonPropertyName("useragent")] string? UserAgent);

internal sealed record EventActor(string? Name);

internal sealed record EventSource(string Addr, [property: JsonPropertyName("instanceID")] string InstanceId);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Envelope))]
internal sealed partial class EnvelopeJson : JsonSerializerContext
{
    public static EnvelopeJson Api => field ??= new(JsonWire.Options(Default.Options));
}

/// <summary>Builds and signs the envelopes webhooks send.</summary>
internal static class WebhookEnvelope
{
    public const string MediaType = "application/vnd.docker.distribution.events.v1+json";

    /// <summary>The signature header: <c>sha256=</c> and the lowercase hex HMAC-SHA256 of the body under the hook's secret.</summary>
    public const string SignatureHeader = "X-Berth-Signature";

    /// <summary>This process, as <c>source.instanceID</c>.</summary>
    public static readonly string InstanceId = Guid.NewGuid().ToString();

    /// <summary>
    /// The envelope of one outbox event. Its <c>id</c> is the outbox id, so every delivery of the same event, retried or
    /// after a restart, carries the same id and a receiver can drop repeats.
    /// </summary>
    public static string Build(RegistryEvent e, ManifestInfo? manifest, string? publicUrl)
    {
        var digest = e.Digest;
        var url = publicUrl is not null && e.Repository is not null && digest is not null ? $"{publicUrl}/v2/{e.Repository}/manifests/{digest}" : null;
        var method = e.Kind switch
        {
            EventKinds.ManifestPut => "PUT",
            EventKinds.ManifestDelete or EventKinds.TagDelete => "DELETE",
            EventKinds.Pull => "GET",
            _ => null,
        };
        var host = publicUrl is not null ? new Uri(publicUrl).Authority : null;
        var ev = new EnvelopeEvent(e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Time, WebhookEvents.ActionOf(e.Kind),
            new EventTarget(manifest?.MediaType, digest, manifest?.Size, manifest?.Size, e.Repository, url, e.Tag),
            new EventRequest(e.RequestId, e.Address, host, method, null), new EventActor(e.Actor), new EventSource(Environment.MachineName, InstanceId));
        return JsonSerializer.Serialize(new Envelope([ev]), EnvelopeJson.Api.Envelope);
    }

    /// <summary>A made-up event for the test-delivery call: action "test", nothing real in it.</summary>
    public static string Test(DateTimeOffset now) => JsonSerializer.Serialize(new Envelope([new EnvelopeEvent(
        "test-" + Guid.NewGuid().ToString("N"), now, "test", new EventTarget(null, null, null, null, null, null, null),
        new EventRequest(Core.Observability.RequestContext.Current?.RequestId, null, null, null, null), new EventActor(Core.Observability.RequestContext.Current?.Actor),
        new EventSource(Environment.MachineName, InstanceId))]), EnvelopeJson.Api.Envelope);

    public static string Sign(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}
