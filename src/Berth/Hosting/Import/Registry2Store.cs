using Berth.Core;

namespace Berth.Hosting.Import;

/// <summary>
/// Reads the filesystem tree of distribution (registry:2), read-only:
/// <code>
/// ROOT/docker/registry/v2/
///   blobs/sha256/ab/abcdef.../data                                  every blob's bytes (layers, configs, manifests)
///   repositories/NAME/                                              NAME may hold slashes
///     _layers/sha256/HEX/link                                       "sha256:HEX": a blob the repository may serve
///     _manifests/revisions/sha256/HEX/link                          a manifest of the repository (gone once deleted)
///     _manifests/tags/TAG/current/link                              the digest TAG points at (the directory goes with the tag)
///     _manifests/tags/TAG/index/sha256/HEX/link                     the tag's history (not imported)
///     _uploads/                                                     uploads in progress (not imported)
/// </code>
/// A repository is a directory under <c>repositories/</c> that holds <c>_manifests</c> or <c>_layers</c>.
/// </summary>
internal sealed class Registry2Store
{
    private readonly string _v2;

    private Registry2Store(string v2) => _v2 = v2;

    /// <summary>ROOT (storage.filesystem.rootdirectory) or its docker/registry/v2; null when neither holds a distribution tree.</summary>
    public static Registry2Store? Find(string path)
    {
        foreach (var candidate in (string[])[Path.Combine(path, "docker", "registry", "v2"), path])
        {
            if (Directory.Exists(Path.Combine(candidate, "repositories")) || Directory.Exists(Path.Combine(candidate, "blobs")))
            {
                return new Registry2Store(Path.GetFullPath(candidate));
            }
        }
        return null;
    }

    public string Root => _v2;

    /// <summary>The file of a blob's bytes; it may not exist (a link left dangling).</summary>
    public string BlobPath(Digest digest) => Path.Combine(_v2, "blobs", digest.Algorithm, digest.Hex[..2], digest.Hex, "data");

    /// <summary>
    /// Every repository in name order, with problems found while reading links (unreadable or malformed) reported to
    /// <paramref name="problem"/> as (repository, what, why).
    /// </summary>
    public IEnumerable<ImportPlan> Repositories(Action<string, string, string> problem)
    {
        var top = Path.Combine(_v2, "repositories");
        if (!Directory.Exists(top)) yield break;
        var names = new List<string>();
        Collect(top, top, names);
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var dir = Path.Combine(top, name);
            var layers = Links(Path.Combine(dir, "_layers"), name, "layer link", problem);
            var manifests = Links(Path.Combine(dir, "_manifests", "revisions"), name, "manifest revision", problem);
            var tags = new List<(string, Digest)>();
            var tagsDir = Path.Combine(dir, "_manifests", "tags");
            if (Directory.Exists(tagsDir))
            {
                foreach (var tagDir in Directory.EnumerateDirectories(tagsDir).Order(StringComparer.Ordinal))
                {
                    var tag = Path.GetFileName(tagDir);
                    var link = Path.Combine(tagDir, "current", "link");
                    if (!File.Exists(link)) continue; // a tag being deleted, or never finished: absent
                    if (ReadLink(link) is { } digest) tags.Add((tag, digest));
                    else problem(name, $"tag {tag}", $"{link} does not hold a digest");
                }
            }
            yield return new ImportPlan(name, layers, manifests, tags, BlobPath);
        }
    }

    private static void Collect(string top, string dir, List<string> names)
    {
        foreach (var child in Directory.EnumerateDirectories(dir))
        {
            var leaf = Path.GetFileName(child);
            if (leaf.StartsWith('_')) continue;
            if (Directory.Exists(Path.Combine(child, "_manifests")) || Directory.Exists(Path.Combine(child, "_layers")))
            {
                names.Add(Path.GetRelativePath(top, child).Replace(Path.DirectorySeparatorChar, '/'));
            }
            Collect(top, child, names); // "a" and "a/b" may both be repositories
        }
    }

    /// <summary>The digests of DIR/ALG/HEX/link files whose content names the same digest.</summary>
    private static List<Digest> Links(string dir, string repository, string what, Action<string, string, string> problem)
    {
        var digests = new List<Digest>();
        if (!Directory.Exists(dir)) return digests;
        foreach (var algorithmDir in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
        {
            foreach (var entry in Directory.EnumerateDirectories(algorithmDir).Order(StringComparer.Ordinal))
            {
                var link = Path.Combine(entry, "link");
                if (!File.Exists(link)) continue; // distribution deletes the link file of a deleted manifest, not always its directory
                var digest = ReadLink(link);
                if (digest is null || digest.Value.ToString() != $"{Path.GetFileName(algorithmDir)}:{Path.GetFileName(entry)}")
                {
                    problem(repository, what, $"{link} does not hold the digest its path names");
                    continue;
                }
                digests.Add(digest.Value);
            }
        }
        return digests;
    }

    private static Digest? ReadLink(string file)
    {
        string text;
        try
        {
            text = File.ReadAllText(file).Trim();
        }
        catch (IOException)
        {
            return null;
        }
        return Digest.TryParse(text, out var digest) ? digest : null;
    }
}
