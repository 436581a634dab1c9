using System.Text.Json;
using Berth.Core;

namespace Berth.Hosting.Import;

/// <summary>
/// An OCI image layout (https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md), the directory skopeo
/// (<c>oci:DIR:TAG</c>), umoci and oras read and write:
/// <code>
/// DIR/oci-layout          {"imageLayoutVersion":"1.0.0"}
/// DIR/index.json          an image index; each entry a manifest, its tag in org.opencontainers.image.ref.name
/// DIR/blobs/sha256/HEX    every blob and manifest by digest
/// </code>
/// </summary>
internal static class OciLayout
{
    public const string RefName = "org.opencontainers.image.ref.name";
    private const string LayoutFile = "{\"imageLayoutVersion\":\"1.0.0\"}";

    public static string BlobPath(string dir, Digest digest) => Path.Combine(dir, "blobs", digest.Algorithm, digest.Hex);

    /// <summary>What to import from the layout into <paramref name="repository"/>: every manifest index.json reaches and the blobs they reference.</summary>
    public static ImportPlan Read(string dir, string repository)
    {
        if (!File.Exists(Path.Combine(dir, "oci-layout")) || !File.Exists(Path.Combine(dir, "index.json")))
        {
            throw new StartupException($"{dir} is not an OCI image layout (no oci-layout or index.json)", ExitCodes.Usage);
        }
        var entries = ReadIndex(dir);
        var manifests = new HashSet<Digest>();
        var blobs = new HashSet<Digest>();
        var tags = new List<(string, Digest)>();
        foreach (var (digest, tag) in entries)
        {
            Walk(dir, digest, manifests, blobs);
            if (tag is not null) tags.Add((tag, digest));
        }
        return new ImportPlan(repository, [.. blobs.OrderBy(d => d.ToString(), StringComparer.Ordinal)], [.. manifests.OrderBy(d => d.ToString(), StringComparer.Ordinal)], tags, d => BlobPath(dir, d));
    }

    /// <summary>The manifests index.json lists, with their tags (null for an entry without one).</summary>
    private static List<(Digest Digest, string? Tag)> ReadIndex(string dir)
    {
        var file = Path.Combine(dir, "index.json");
        var entries = new List<(Digest, string?)>();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (!doc.RootElement.TryGetProperty("manifests", out var list) || list.ValueKind != JsonValueKind.Array) return entries;
            foreach (var e in list.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("digest", out var d) || d.ValueKind != JsonValueKind.String
                    || !Digest.TryParse(d.GetString(), out var digest))
                {
                    throw new StartupException($"{file}: an entry without a valid digest", ExitCodes.Usage);
                }
                string? tag = null;
                if (e.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object
                    && a.TryGetProperty(RefName, out var r) && r.ValueKind == JsonValueKind.String)
                {
                    // A tag, or a whole reference (containerd and some tools write docker.io/library/alpine:3.20): its tag.
                    tag = r.GetString();
                    if (tag is not null && tag.LastIndexOf(':') is var colon and > 0 && colon > tag.LastIndexOf('/')) tag = tag[(colon + 1)..];
                }
                entries.Add((digest, tag));
            }
        }
        catch (JsonException e)
        {
            throw new StartupException($"{file}: not valid JSON: {e.Message}", ExitCodes.Usage);
        }
        return entries;
    }

    /// <summary>Adds the manifest and what it reaches; what cannot be read stays for the importer to report.</summary>
    private static void Walk(string dir, Digest digest, HashSet<Digest> manifests, HashSet<Digest> blobs)
    {
        if (!manifests.Add(digest)) return;
        var path = BlobPath(dir, digest);
        Manifest manifest;
        try
        {
            if (!File.Exists(path) || new FileInfo(path).Length > Manifest.DefaultMaxSize) return;
            var content = File.ReadAllBytes(path);
            if (Digest.Compute(content, digest.Algorithm) != digest) return;
            manifest = Manifest.Parse(content, null, digest);
        }
        catch (RegistryException)
        {
            return;
        }
        foreach (var child in manifest.Children) Walk(dir, child.Digest, manifests, blobs);
        foreach (var blob in manifest.RequiredBlobs) blobs.Add(blob.Digest);
    }

    /// <summary>
    /// Writes <paramref name="tag"/> (or every tag) of <paramref name="repository"/> into the layout at <paramref name="dir"/>,
    /// created when missing; an existing layout keeps its other entries (an entry of the same tag is replaced) and blobs
    /// already there are not written again. Every blob is checked against its digest on the way out.
    /// </summary>
    public static async Task<(int Tags, int Blobs, long Bytes)> ExportAsync(Backends backends, BlobStorage storage, string repository, string? tag,
        string dir, CancellationToken ct)
    {
        var tags = new List<string>();
        if (tag is not null) tags.Add(tag);
        else
        {
            string? last = null;
            while (await backends.Manifests.ListTagsAsync(repository, last, 1000, ct) is { Count: > 0 } page)
            {
                tags.AddRange(page);
                last = page[^1];
            }
        }
        if (tags.Count == 0) throw new RegistryException(ErrorCode.NameUnknown, $"{repository} has no tags (or does not exist)");

        Directory.CreateDirectory(Path.Combine(dir, "blobs"));
        var writer = new LayoutWriter(backends, storage, repository, dir);
        var written = new List<(string Tag, string MediaType, Digest Digest, long Size)>();
        foreach (var t in tags)
        {
            var info = await backends.Manifests.ResolveTagAsync(repository, t, ct)
                ?? throw new RegistryException(ErrorCode.ManifestUnknown, $"{repository}:{t} does not exist");
            await writer.ManifestAsync(info.Digest, ct);
            written.Add((t, info.MediaType, info.Digest, info.Size));
        }

        // index.json last, so a layout interrupted before it lists nothing half-written.
        var kept = File.Exists(Path.Combine(dir, "index.json")) ? KeptEntries(dir, [.. tags]) : [];
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", MediaTypes.OciIndex);
            json.WriteStartArray("manifests");
            foreach (var e in kept) e.WriteTo(json);
            foreach (var (t, mediaType, digest, size) in written)
            {
                json.WriteStartObject();
                json.WriteString("mediaType", mediaType);
                json.WriteString("digest", digest.ToString());
                json.WriteNumber("size", size);
                json.WriteStartObject("annotations");
                json.WriteString(RefName, t);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        await File.WriteAllTextAsync(Path.Combine(dir, "oci-layout"), LayoutFile, ct);
        await ReplaceAsync(Path.Combine(dir, "index.json"), buffer.ToArray(), ct);
        return (written.Count, writer.Blobs, writer.Bytes);
    }

    /// <summary>The entries of an existing index.json that name none of <paramref name="replaced"/>, as they are.</summary>
    private static List<JsonElement> KeptEntries(string dir, HashSet<string> replaced)
    {
        var file = Path.Combine(dir, "index.json");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (!doc.RootElement.TryGetProperty("manifests", out var list) || list.ValueKind != JsonValueKind.Array) return [];
            return [.. list.EnumerateArray().Where(e => !(e.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object
                && a.TryGetProperty(RefName, out var r) && r.ValueKind == JsonValueKind.String && replaced.Contains(r.GetString()!))).Select(e => e.Clone())];
        }
        catch (JsonException e)
        {
            throw new StartupException($"{file}: not valid JSON: {e.Message}", ExitCodes.Usage);
        }
    }

    private static async Task ReplaceAsync(string path, byte[] content, CancellationToken ct)
    {
        var temporary = path + ".tmp";
        await File.WriteAllBytesAsync(temporary, content, ct);
        File.Move(temporary, path, overwrite: true);
    }

    private sealed class LayoutWriter(Backends backends, BlobStorage storage, string repository, string dir)
    {
        private readonly HashSet<Digest> _done = [];
        public int Blobs;
        public long Bytes;

        public async Task ManifestAsync(Digest digest, CancellationToken ct)
        {
            if (!_done.Add(digest)) return;
            var info = await backends.Manifests.GetManifestAsync(repository, digest, ct)
                ?? throw new RegistryException(ErrorCode.ManifestUnknown, $"{repository}@{digest} does not exist");
            var content = await storage.Blobs.GetAsync(digest, checked((int)info.Size), ct)
                ?? throw new RegistryException(ErrorCode.BlobUnknown, $"the storage has no blob for manifest {digest}");
            var manifest = Manifest.Parse(content, info.MediaType, digest);
            foreach (var child in manifest.Children) await ManifestAsync(child.Digest, ct);
            foreach (var blob in manifest.RequiredBlobs) await BlobAsync(blob.Digest, ct);
            await WriteAsync(digest, new MemoryStream(content, writable: false), content.Length, ct);
        }

        private async Task BlobAsync(Digest digest, CancellationToken ct)
        {
            if (!_done.Add(digest)) return;
            var size = await backends.BlobLinks.GetLinkedBlobAsync(repository, digest, ct)
                ?? throw new RegistryException(ErrorCode.BlobUnknown, $"{repository} does not link blob {digest}");
            using var read = await storage.Blobs.ReadAsync(digest, 0, size, ct);
            if (read?.Content is not { } content)
            {
                // An S3 store configured to redirect hands out URLs, not bytes: the export needs the bytes.
                throw new RegistryException(ErrorCode.BlobUnknown, read is null ? $"the storage has no blob {digest}" : "storage.s3.redirect is on: export reads blobs through the bucket; turn it off for the export");
            }
            await WriteAsync(digest, content, size, ct);
        }

        /// <summary>Copies into blobs/ALG/HEX through a temporary file, checking the digest; an existing file of the right size is kept.</summary>
        private async Task WriteAsync(Digest digest, Stream content, long size, CancellationToken ct)
        {
            var path = BlobPath(dir, digest);
            if (File.Exists(path) && new FileInfo(path).Length == size) return;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
            using var hash = digest.CreateHasher();
            var buffer = new byte[1 << 16];
            long copied = 0;
            try
            {
                await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
                {
                    int n;
                    while ((n = await content.ReadAsync(buffer, ct)) > 0)
                    {
                        hash.AppendData(buffer, 0, n);
                        await file.WriteAsync(buffer.AsMemory(0, n), ct);
                        copied += n;
                    }
                }
                var actual = Digest.FromHash(digest.Algorithm, hash.GetHashAndReset());
                if (copied != size || actual != digest)
                {
                    throw new RegistryException(ErrorCode.BlobUnknown, $"the stored blob {digest} is damaged: {copied} bytes hashing to {actual}");
                }
                File.Move(temporary, path, overwrite: true);
            }
            finally
            {
                File.Delete(temporary);
            }
            Blobs++;
            Bytes += copied;
        }
    }
}
