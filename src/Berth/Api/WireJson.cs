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
internal sealed partial class WireJson : JsonSerializerContext;
