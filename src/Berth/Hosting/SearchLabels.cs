using System.Text;
using System.Text.Json;
using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Storage;

namespace Berth.Hosting;

/// <summary>
/// Indexes image labels for search (docs/architecture.md, "Search"): reads the events outbox after the cursor it keeps in the
/// database, and for each repository whose tag moved reads the tagged image's config (for an index, its first image's) and
/// stores its labels as "key value" words. Off the push path: a push costs nothing more, and a repository's labels follow
/// within a period. Bounded: 10,000 events and one config (at most 1 MiB) per repository and run; labels at most 4 KiB.
/// </summary>
internal sealed partial class SearchLabels(IEventLog events, IRepositories repositories, IManifestIndex manifests, IBlobLinks links, IBlobStore blobs,
    TimeProvider time, ILogger<SearchLabels> log) : IScheduledJob
{
    private const int MaxConfig = 1 << 20;
    private const int MaxLabels = 4096;

    public string Name => "search-labels";

    public TimeSpan Period => TimeSpan.FromSeconds(15);

    public async Task<string> RunAsync(CancellationToken ct)
    {
        var cursor = await repositories.GetLabelsCursorAsync(ct);
        var indexed = 0;
        for (var round = 0; round < 10; round++)
        {
            var batch = await events.ReadAfterAsync(cursor, 1000, ct);
            if (batch.Count == 0) break;
            // The newest tagged image per repository is the one whose labels count.
            var latest = new Dictionary<string, string>();
            foreach (var e in batch)
            {
                if (e.Repository is { } repository && e.Digest is { } digest && e.Tag is not null && e.Kind is EventKinds.ManifestPut or EventKinds.TagMove)
                {
                    latest[repository] = digest;
                }
            }
            foreach (var (repository, digest) in latest)
            {
                string? labels;
                try
                {
                    labels = await LabelsAsync(repository, Digest.Parse(digest), ct);
                }
                catch (Exception e) when (e is JsonException or RegistryException or FormatException or InvalidOperationException or EndOfStreamException)
                {
                    LabelsUnreadable(log, repository, e.Message);
                    continue;
                }
                await repositories.SetLabelsAsync(repository, labels, time.GetUtcNow(), ct);
                indexed++;
            }
            cursor = batch[^1].Id;
            await repositories.SetLabelsCursorAsync(cursor, ct);
        }
        return $"indexed the labels of {indexed} repositories";
    }

    /// <summary>The labels of the image <paramref name="digest"/> names in <paramref name="repository"/> as words, or null.</summary>
    private async Task<string?> LabelsAsync(string repository, Digest digest, CancellationToken ct)
    {
        using var manifest = await ReadManifestAsync(repository, digest, ct);
        if (manifest is null) return null;
        var root = manifest.RootElement;
        // An index: its first image.
        if (root.TryGetProperty("manifests", out var children) && children.ValueKind == JsonValueKind.Array && children.GetArrayLength() > 0
            && children[0].TryGetProperty("digest", out var child) && child.GetString() is { } childDigest)
        {
            using var first = await ReadManifestAsync(repository, Digest.Parse(childDigest), ct);
            return first is null ? null : await ConfigLabelsAsync(repository, first.RootElement, ct);
        }
        return await ConfigLabelsAsync(repository, root, ct);
    }

    private async Task<JsonDocument?> ReadManifestAsync(string repository, Digest digest, CancellationToken ct)
    {
        var info = await manifests.GetManifestAsync(repository, digest, ct);
        if (info is null || info.Size > MaxConfig) return null;
        var bytes = await blobs.GetAsync(digest, (int)info.Size, ct);
        return bytes is null ? null : JsonDocument.Parse(bytes);
    }

    private async Task<string?> ConfigLabelsAsync(string repository, JsonElement manifest, CancellationToken ct)
    {
        if (!manifest.TryGetProperty("config", out var config) || !config.TryGetProperty("digest", out var d) || d.GetString() is not { } text) return null;
        var digest = Digest.Parse(text);
        var size = await links.GetLinkedBlobAsync(repository, digest, ct);
        if (size is null or > MaxConfig) return null;
        var bytes = await blobs.GetAsync(digest, (int)size, ct);
        if (bytes is null) return null;
        using var doc = JsonDocument.Parse(bytes);
        if (!doc.RootElement.TryGetProperty("config", out var c) || c.ValueKind != JsonValueKind.Object
            || !c.TryGetProperty("Labels", out var labels) || labels.ValueKind != JsonValueKind.Object) return null;
        var words = new StringBuilder();
        foreach (var label in labels.EnumerateObject())
        {
            var value = label.Value.ValueKind == JsonValueKind.String ? label.Value.GetString() : label.Value.ToString();
            var pair = $"{label.Name} {value}";
            if (words.Length + pair.Length + 1 > MaxLabels) break;
            if (words.Length > 0) words.Append('\n');
            words.Append(pair);
        }
        return words.Length > 0 ? words.ToString() : null;
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "search-labels: the image config of {Repository} is unreadable: {Reason}")]
    private static partial void LabelsUnreadable(ILogger logger, string repository, string reason);
}
