using Berth.Core.Metadata;
using Berth.Core.Storage;

namespace Berth.Core.Registry;

public sealed record PushedManifest(Digest Digest, Digest? Subject);

/// <summary>Manifests, tags and referrers of a repository; reads go through <see cref="RegistryCache"/>.</summary>
public sealed class ManifestService(IBlobStore store, IManifestIndex metadata, IBlobClaims claims, RegistryCache cache, TimeProvider time, int maxManifestSize = Manifest.DefaultMaxSize)
{
    public int MaxManifestSize => maxManifestSize;

    public async ValueTask<CachedManifest?> GetAsync(string repository, Reference reference, CancellationToken ct)
    {
        if (reference.Tag is { } tag)
        {
            if (cache.GetTag(repository, tag) is { } hit) return hit;
            var ticket = cache.Ticket(repository);
            var info = await metadata.ResolveTagAsync(repository, tag, ct);
            var manifest = info is null ? null : await LoadAsync(info, ct);
            if (manifest is not null) cache.AddTag(repository, tag, manifest, ticket);
            return manifest;
        }
        var digest = reference.Digest!.Value;
        if (cache.GetManifest(repository, digest) is { } byDigest) return byDigest;
        var t = cache.Ticket(repository);
        var row = await metadata.GetManifestAsync(repository, digest, ct);
        var loaded = row is null ? null : await LoadAsync(row, ct);
        if (loaded is not null) cache.AddManifest(repository, loaded, t);
        return loaded;
    }

    public async Task<PushedManifest> PutAsync(string repository, Reference reference, string? contentType, byte[] content, CancellationToken ct)
    {
        if (content.Length > maxManifestSize)
        {
            throw new RegistryException(ErrorCode.TooLarge, $"manifest is larger than {maxManifestSize} bytes");
        }
        var digest = Digest.Compute(content, reference.Digest?.Algorithm ?? "sha256");
        if (reference.Digest is { } expected && expected != digest)
        {
            throw new RegistryException(ErrorCode.DigestInvalid, $"manifest has digest {digest}, not {expected}", ErrorDetail.Of(("expected", expected.ToString()), ("actual", digest.ToString())));
        }
        var manifest = Manifest.Parse(content, contentType, digest);
        // Claimed before the file is written (which keeps an existing copy) and held until the manifest's row is committed:
        // garbage collection never deletes a digest while a push of it is between the two.
        var claim = await BlobClaim.ClaimAsync(claims, digest, time, ct);
        try
        {
            await store.PutAsync(digest, content, ct);
            await metadata.PutManifestAsync(repository, manifest, reference.Tag, time.GetUtcNow(), ct);
        }
        finally
        {
            cache.Invalidate(repository);
            await claims.ReleaseClaimAsync(digest, claim, CancellationToken.None);
        }
        return new PushedManifest(digest, manifest.Subject?.Digest);
    }

    /// <summary>Deletes a tag (only the tag) or a manifest by digest (with its tags); false when absent.</summary>
    public async Task<bool> DeleteAsync(string repository, Reference reference, CancellationToken ct)
    {
        var deleted = reference.Tag is { } tag
            ? await metadata.DeleteTagAsync(repository, tag, ct)
            : await metadata.DeleteManifestAsync(repository, reference.Digest!.Value, ct);
        cache.Invalidate(repository);
        return deleted;
    }

    public Task<IReadOnlyList<string>?> ListTagsAsync(string repository, string? last, int limit, CancellationToken ct) =>
        metadata.ListTagsAsync(repository, last, limit, ct);

    public Task<IReadOnlyList<TagInfo>?> ListTagInfoAsync(string repository, string? last, int limit, CancellationToken ct) =>
        metadata.ListTagInfoAsync(repository, last, limit, ct);

    public Task<IReadOnlyList<Descriptor>> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct) =>
        metadata.ListReferrersAsync(repository, subject, artifactType, ct);

    private async Task<CachedManifest?> LoadAsync(ManifestInfo info, CancellationToken ct)
    {
        var content = await store.GetAsync(info.Digest, checked((int)info.Size), ct);
        return content is null ? null : new CachedManifest(info.Digest, info.MediaType, content);
    }
}
