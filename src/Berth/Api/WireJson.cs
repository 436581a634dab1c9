using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Api;

internal sealed record ErrorBody(IReadOnlyList<ErrorItem> Errors);

internal sealed record ErrorItem(string Code, string Message, IReadOnlyDictionary<string, string>? Detail);

internal sealed record TagList(string Name, IReadOnlyList<string> Tags);

internal sealed record Catalog(IReadOnlyList<string> Repositories);

internal sealed record ImageIndex(int SchemaVersion, string MediaType, IReadOnlyList<WireDescriptor> Manifests);

internal sealed record WireDescriptor(string MediaType, string Digest, long Size, string? ArtifactType, IReadOnlyDictionary<string, string>? Annotations);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(TagList))]
[JsonSerializable(typeof(Catalog))]
[JsonSerializable(typeof(ImageIndex))]
[JsonSerializable(typeof(Auth.TokenResponse))]
internal sealed partial class WireJson : JsonSerializerContext
{
    /// <summary>The contract for everything the registry writes: use this, not <c>Default</c>.</summary>
    public static WireJson Api => field ??= new(JsonWire.Options(Default.Options));
}

/// <summary>
/// How the registry writes JSON. System.Text.Json's default encoder escapes for HTML pages (<c>+</c> as <c>\u002B</c>, quotes
/// and <c>&lt;&gt;&amp;'</c> too), so media types read <c>application/vnd.oci.image.index.v1\u002Bjson</c>. These answers are
/// application/json, never HTML, read by people and clients alike: only what JSON itself requires is escaped
/// (https://www.rfc-editor.org/rfc/rfc8259#section-7: the quotation mark, the backslash, control characters), as
/// distribution and other registries write it.
/// </summary>
internal static class JsonWire
{
    public static JsonSerializerOptions Options(JsonSerializerOptions generated) =>
        new(generated) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
