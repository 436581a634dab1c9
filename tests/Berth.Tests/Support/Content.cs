using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Tests.Support;

/// <summary>
/// Media types written out rather than taken from Berth.Core, so that a typo in the server's constants
/// shows up as a failing test instead of agreeing with itself.
/// </summary>
internal static class MediaType
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
}

internal sealed record Blob(byte[] Content)
{
    public string Digest { get; } = Sha256(Content);

    public long Size => Content.Length;

    /// <summary>The OCI empty descriptor's content, <c>{}</c>.</summary>
    public static Blob Empty { get; } = Text("{}");

    public static Blob Text(string text) => new(Encoding.UTF8.GetBytes(text));

    /// <summary>Random bytes: content no other test (or run) has pushed.</summary>
    public static Blob Random(int size) => new(RandomNumberGenerator.GetBytes(size));

    public JsonObject Descriptor(string mediaType) => Json.Descriptor(mediaType, Digest, Size);

    public static string Sha256(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public static string Sha512(byte[] content) => "sha512:" + Convert.ToHexStringLower(SHA512.HashData(content));
}

/// <summary>Manifest documents, built as JSON trees so a test can add or break any field.</summary>
internal static class Json
{
    public static JsonObject Descriptor(string mediaType, string digest, long size, string? artifactType = null, IReadOnlyDictionary<string, string>? annotations = null)
    {
        var d = new JsonObject { ["mediaType"] = mediaType, ["digest"] = digest, ["size"] = size };
        if (artifactType is not null) d["artifactType"] = artifactType;
        if (annotations is not null) d["annotations"] = Annotations(annotations);
        return d;
    }

    public static JsonObject ImageManifest(string mediaType, JsonObject config, IEnumerable<JsonObject> layers) => new()
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = mediaType,
        ["config"] = config,
        ["layers"] = new JsonArray([.. layers]),
    };

    public static JsonObject Index(string mediaType, IEnumerable<JsonObject> manifests) => new()
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = mediaType,
        ["manifests"] = new JsonArray([.. manifests]),
    };

    public static JsonObject Annotations(IReadOnlyDictionary<string, string> values)
    {
        var o = new JsonObject();
        foreach (var (k, v) in values) o[k] = v;
        return o;
    }

    public static byte[] Bytes(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());
}
