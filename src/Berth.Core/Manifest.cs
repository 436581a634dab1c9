using System.Text.Json;

namespace Berth.Core;

public sealed record Platform(string Architecture, string Os, string? Variant);

public sealed record Descriptor(
    string MediaType,
    Digest Digest,
    long Size,
    string? ArtifactType = null,
    IReadOnlyDictionary<string, string>? Annotations = null,
    Platform? Platform = null,
    bool HasUrls = false);

/// <summary>
/// A manifest accepted for storage: its media type and everything it points at. Built only by
/// <see cref="Parse"/>, which enforces the structure of the image and index specs.
/// </summary>
public sealed record Manifest(
    string MediaType,
    Digest Digest,
    byte[] Content,
    Descriptor? Config,
    IReadOnlyList<Descriptor> Layers,
    IReadOnlyList<Descriptor> Children,
    Descriptor? Subject,
    string? ArtifactType,
    IReadOnlyDictionary<string, string>? Annotations)
{
    /// <summary>The spec asks registries to accept at least 4 MiB; larger manifests are refused with 413.</summary>
    public const int DefaultMaxSize = 4 * 1024 * 1024;

    /// <summary>What the referrers API reports as this manifest's artifact type.</summary>
    public string? EffectiveArtifactType => ArtifactType ?? (MediaTypes.IsImageManifest(MediaType) ? Config?.MediaType : null);

    /// <summary>Blobs that must be present in the repository before this manifest is accepted.</summary>
    public IEnumerable<Descriptor> RequiredBlobs =>
        (Config is null ? Layers : Layers.Prepend(Config)).Where(d => !d.HasUrls);

    /// <summary>
    /// Parses and validates <paramref name="content"/> sent with <paramref name="contentType"/>,
    /// identified by <paramref name="digest"/> (computed by the caller, in the algorithm the client asked for).
    /// </summary>
    public static Manifest Parse(byte[] content, string? contentType, Digest digest)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(content, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw Invalid($"manifest is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Invalid("manifest must be a JSON object");

            var declared = OptionalString(root, "mediaType");
            var header = MediaTypes.Essence(contentType);
            if (header is MediaTypes.DockerSchema1 or MediaTypes.DockerSchema1Signed || declared is MediaTypes.DockerSchema1 or MediaTypes.DockerSchema1Signed
                || (root.TryGetProperty("schemaVersion", out var sv1) && sv1.ValueKind == JsonValueKind.Number && sv1.TryGetInt32(out var v1) && v1 == 1))
            {
                throw Invalid("Docker image manifest schema 1 is not supported: push schema 2 or OCI (e.g. skopeo copy --format v2s2)");
            }
            if (!root.TryGetProperty("schemaVersion", out var sv) || sv.ValueKind != JsonValueKind.Number || !sv.TryGetInt32(out var version) || version != 2)
            {
                throw Invalid("schemaVersion must be 2");
            }

            var mediaType = ResolveMediaType(root, declared, header);
            var annotations = OptionalAnnotations(root);
            var subject = root.TryGetProperty("subject", out var s) && s.ValueKind != JsonValueKind.Null ? ParseDescriptor(s, "subject") : null;
            var artifactType = OptionalString(root, "artifactType");
            if (artifactType is not null && !IsMediaType(artifactType)) throw Invalid("artifactType is not a media type");

            if (MediaTypes.IsIndex(mediaType))
            {
                var children = RequiredArray(root, "manifests").Select((e, i) => ParseDescriptor(e, $"manifests[{i}]")).ToList();
                return new Manifest(mediaType, digest, content, null, [], children, subject, artifactType, annotations);
            }

            if (!root.TryGetProperty("config", out var configElement)) throw Invalid("config is required");
            var config = ParseDescriptor(configElement, "config");
            var layers = root.TryGetProperty("layers", out var layersElement) && layersElement.ValueKind != JsonValueKind.Null
                ? RequiredArray(root, "layers").Select((e, i) => ParseDescriptor(e, $"layers[{i}]")).ToList()
                : mediaType == MediaTypes.DockerManifest ? throw Invalid("layers is required") : [];
            if (mediaType == MediaTypes.DockerManifest && (subject is not null || artifactType is not null))
            {
                throw Invalid("subject and artifactType are OCI fields; a Docker schema 2 manifest cannot carry them");
            }
            return new Manifest(mediaType, digest, content, config, layers, [], subject, artifactType, annotations);
        }
    }

    private static string ResolveMediaType(JsonElement root, string? declared, string? header)
    {
        if (declared is not null && header is not null && declared != header && header != "application/json")
        {
            throw Invalid($"Content-Type {header} does not match the manifest's mediaType {declared}");
        }
        var mediaType = declared ?? (header is "application/json" ? null : header);
        if (mediaType is null)
        {
            // OCI manifests may omit mediaType; the shape tells them apart.
            mediaType = root.TryGetProperty("manifests", out _) ? MediaTypes.OciIndex
                : root.TryGetProperty("config", out _) ? MediaTypes.OciManifest
                : throw Invalid("cannot tell the manifest type: set mediaType or Content-Type");
        }
        if (!MediaTypes.IsManifest(mediaType))
        {
            throw Invalid($"unsupported manifest media type {ErrorDetail.Clip(mediaType)}");
        }
        return mediaType;
    }

    private static Descriptor ParseDescriptor(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Invalid($"{where} must be an object");
        var mediaType = OptionalString(e, "mediaType") ?? throw Invalid($"{where}.mediaType is required");
        if (!IsMediaType(mediaType)) throw Invalid($"{where}.mediaType is not a media type");
        var digestText = OptionalString(e, "digest") ?? throw Invalid($"{where}.digest is required");
        if (!Digest.TryParse(digestText, out var digest))
        {
            throw new RegistryException(ErrorCode.DigestInvalid, $"{where}.digest is not a valid digest", ErrorDetail.Of(("digest", ErrorDetail.Clip(digestText))));
        }
        if (!e.TryGetProperty("size", out var sizeElement) || sizeElement.ValueKind != JsonValueKind.Number || !sizeElement.TryGetInt64(out var size) || size < 0)
        {
            throw Invalid($"{where}.size must be a non-negative integer");
        }
        var hasUrls = e.TryGetProperty("urls", out var urls) && urls.ValueKind == JsonValueKind.Array && urls.GetArrayLength() > 0;
        Platform? platform = null;
        if (e.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            platform = new Platform(OptionalString(p, "architecture") ?? "", OptionalString(p, "os") ?? "", OptionalString(p, "variant"));
        }
        return new Descriptor(mediaType, digest, size, OptionalString(e, "artifactType"), OptionalAnnotations(e), platform, hasUrls);
    }

    private static IEnumerable<JsonElement> RequiredArray(JsonElement root, string name) =>
        root.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray()
            : throw Invalid($"{name} must be an array");

    private static string? OptionalString(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? Text(v.GetString) : throw Invalid($"{name} must be a string");
    }

    private static Dictionary<string, string>? OptionalAnnotations(JsonElement e)
    {
        if (!e.TryGetProperty("annotations", out var a) || a.ValueKind == JsonValueKind.Null) return null;
        if (a.ValueKind != JsonValueKind.Object) throw Invalid("annotations must be an object");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in a.EnumerateObject())
        {
            var key = Text(() => property.Name);
            result[key] = property.Value.ValueKind == JsonValueKind.String
                ? Text(property.Value.GetString)
                : throw Invalid($"annotation {key} must be a string");
        }
        return result;
    }

    /// <summary>
    /// Reads a string the parser let through: JsonDocument checks the structure, not the text, so invalid
    /// UTF-8 or an unpaired \uD800 only throws (InvalidOperationException) when the string is read.
    /// </summary>
    private static string Text(Func<string?> read)
    {
        try
        {
            return read()!;
        }
        catch (InvalidOperationException)
        {
            throw Invalid("manifest has a string that is not valid UTF-8 or has an unpaired surrogate");
        }
    }

    // RFC 6838 type/subtype, loosely: what clients put there in practice.
    private static bool IsMediaType(string value)
    {
        var slash = value.IndexOf('/');
        return slash > 0 && slash < value.Length - 1 && value.Length <= 255 && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));
    }

    private static RegistryException Invalid(string message) => new(ErrorCode.ManifestInvalid, message);

    public override string ToString() => $"{MediaType} {Digest} ({Content.Length} bytes)";
}
