using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Storage;

namespace Berth.Hosting.Import;

/// <summary>
/// One repository to bring in from files on disk (a distribution store or an OCI image layout): the blobs it may serve,
/// its manifests (any order: children are put before their parents here) and its tags. <paramref name="BlobPath"/> names
/// the file holding a digest's bytes in the source, or null when the source has none (a dangling link).
/// </summary>
internal sealed record ImportPlan(
    string Repository,
    IReadOnlyCollection<Digest> Blobs,
    IReadOnlyCollection<Digest> Manifests,
    IReadOnlyList<(string Tag, Digest Digest)> Tags,
    Func<Digest, string?> BlobPath);

/// <summary>What one run did: counts, and a line for each thing it skipped and why.</summary>
internal sealed class ImportReport
{
    public int Repositories, Blobs, BlobsLinked, BlobsPresent, Manifests, ManifestsPresent, Tags, TagsPresent;
    public long Bytes;
    public List<string> Skipped { get; } = [];

    public void Skip(string repository, string what, string why) => Skipped.Add($"skipped {repository}: {what}: {why}");

    public IEnumerable<string> Summary()
    {
        foreach (var line in Skipped) yield return line;
        yield return $"{Repositories} repositories; imported {Blobs} blobs ({Bytes >> 20} MiB, each checked against its digest), {Manifests} manifests, {Tags} tags; linked {BlobsLinked} blobs stored already";
        yield return $"already present: {BlobsPresent} blobs, {ManifestsPresent} manifests, {TagsPresent} tags; skipped: {Skipped.Count}";
    }
}

/// <summary>
/// Puts a source's repositories into Berth's stores the way a push does, without a client: every blob streamed once into
/// <see cref="IUploadStaging"/> while hashed and committed only when the digest matches, then recorded and linked through
/// <see cref="IUploadSessions.CompleteUploadAsync"/> (as an upload's completion is), or, when another repository links it
/// already, linked from there as a mount is (<see cref="IBlobLinks.MountBlobAsync"/>: no second copy); every manifest through
/// <see cref="ManifestService.PutAsync"/> (parsed, its references checked in the repository), children first; tags as the
/// source has them. What is already there is left as it is, so a second run imports nothing new. A blob that is missing or
/// does not hash to its name is skipped and reported, and so is every manifest that needs it.
/// </summary>
internal sealed class Importer(BlobStorage storage, Backends backends, TimeProvider time)
{
    private readonly ManifestService _manifests = new(storage.Blobs, backends.Manifests, backends.Claims, new RegistryCache(1 << 20), time);

    public ImportReport Report { get; } = new();

    public async Task ImportAsync(ImportPlan plan, CancellationToken ct)
    {
        var repository = plan.Repository;
        if (!Names.IsValidRepository(repository))
        {
            Report.Skip(repository, "repository", "not a valid repository name");
            return;
        }
        Report.Repositories++;
        foreach (var digest in plan.Blobs) await ImportBlobAsync(repository, digest, plan.BlobPath, ct);

        // Children before parents: a pass puts every manifest whose child manifests are present; the rest wait for the next.
        var pending = new Dictionary<Digest, Manifest>();
        foreach (var digest in plan.Manifests)
        {
            if (await backends.Manifests.GetManifestAsync(repository, digest, ct) is not null)
            {
                Report.ManifestsPresent++;
                continue;
            }
            if (ReadManifest(repository, digest, plan.BlobPath) is { } manifest) pending[digest] = manifest;
        }
        while (pending.Count > 0)
        {
            var ready = new List<Manifest>();
            foreach (var m in pending.Values)
            {
                if (m.Children.All(c => !pending.ContainsKey(c.Digest))) ready.Add(m);
            }
            if (ready.Count == 0)
            {
                foreach (var m in pending.Values) Report.Skip(repository, $"manifest {m.Digest}", "its child manifests refer to each other");
                break;
            }
            foreach (var m in ready)
            {
                pending.Remove(m.Digest);
                try
                {
                    await _manifests.PutAsync(repository, new Reference(null, m.Digest), m.MediaType, m.Content, ct);
                    Report.Manifests++;
                }
                catch (RegistryException e)
                {
                    Report.Skip(repository, $"manifest {m.Digest}", e.Message);
                }
            }
        }

        foreach (var (tag, digest) in plan.Tags)
        {
            if (!Names.IsValidTag(tag))
            {
                Report.Skip(repository, $"tag {tag}", "not a valid tag");
                continue;
            }
            if (await backends.Manifests.ResolveTagAsync(repository, tag, ct) is { } current && current.Digest == digest)
            {
                Report.TagsPresent++;
                continue;
            }
            var info = await backends.Manifests.GetManifestAsync(repository, digest, ct);
            var content = info is null ? null : await storage.Blobs.GetAsync(digest, checked((int)info.Size), ct);
            if (info is null || content is null)
            {
                Report.Skip(repository, $"tag {tag}", $"its manifest {digest} was not imported");
                continue;
            }
            await _manifests.PutAsync(repository, new Reference(tag, null), info.MediaType, content, ct);
            Report.Tags++;
        }
    }

    private Manifest? ReadManifest(string repository, Digest digest, Func<Digest, string?> blobPath)
    {
        var what = $"manifest {digest}";
        if (blobPath(digest) is not { } path || !File.Exists(path))
        {
            Report.Skip(repository, what, "dangling: the source has no blob for it");
            return null;
        }
        var length = new FileInfo(path).Length;
        if (length > _manifests.MaxManifestSize)
        {
            Report.Skip(repository, what, $"larger than {_manifests.MaxManifestSize} bytes");
            return null;
        }
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Report.Skip(repository, what, $"cannot read {path}: {Configuration.ConfigLoader.Describe(e)}");
            return null;
        }
        var actual = Digest.Compute(content, digest.Algorithm);
        if (actual != digest)
        {
            Report.Skip(repository, what, $"damaged: the source's file {path} hashes to {actual}");
            return null;
        }
        try
        {
            return Manifest.Parse(content, null, digest);
        }
        catch (RegistryException e)
        {
            Report.Skip(repository, what, e.Message);
            return null;
        }
    }

    private async Task ImportBlobAsync(string repository, Digest digest, Func<Digest, string?> blobPath, CancellationToken ct)
    {
        var what = $"blob {digest}";
        if (await backends.BlobLinks.GetLinkedBlobAsync(repository, digest, ct) is not null)
        {
            Report.BlobsPresent++;
            return;
        }
        if (blobPath(digest) is not { } path || !File.Exists(path))
        {
            Report.Skip(repository, what, "dangling: the source links it but holds no blob for it");
            return;
        }
        if (await backends.BlobLinks.FindMountSourceAsync(digest, RepositoryFilter.Everything, ct) is { } source
            && await backends.BlobLinks.MountBlobAsync(repository, digest, source, ct) is not null)
        {
            // Stored and linked already (by another repository of this run or an earlier one, or a push): link it, as a mount does.
            Report.BlobsLinked++;
            return;
        }
        var id = Guid.NewGuid().ToString("N");
        long size;
        try
        {
            size = await CopyAsync(path, id, digest, ct);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            // Damaged, or unreadable in the source: this blob is skipped, the run goes on.
            await storage.Staging.DeleteUploadAsync(id, ct);
            Report.Skip(repository, what, e is InvalidDataException ? e.Message : $"cannot copy {path}: {Configuration.ConfigLoader.Describe(e)}");
            return;
        }
        // Claimed before the commit, as an upload's completion is, so garbage collection cannot delete the digest between.
        var claim = await BlobClaim.ClaimAsync(backends.Claims, digest, time, ct);
        try
        {
            await storage.Staging.CommitUploadAsync(id, size, digest, ct);
            await backends.Uploads.CompleteUploadAsync(Session(id, repository, size), digest, ct);
        }
        finally
        {
            await backends.Claims.ReleaseClaimAsync(digest, claim, CancellationToken.None);
        }
        Report.Blobs++;
        Report.Bytes += size;
    }

    private UploadSession Session(string id, string repository, long size)
    {
        var now = time.GetUtcNow();
        return new UploadSession(id, repository, size, now, now);
    }

    /// <summary>Streams the file into upload <paramref name="id"/> while hashing it; the size, or InvalidDataException when it does not hash to <paramref name="digest"/>.</summary>
    private async Task<long> CopyAsync(string path, string id, Digest digest, CancellationToken ct)
    {
        using var hash = digest.CreateHasher();
        long copied = 0;
        await using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan))
        await using (var writer = await storage.Staging.OpenUploadAsync(id, 0, ct))
        {
            int n;
            while ((n = await source.ReadAsync(writer.Buffer, ct)) > 0)
            {
                hash.AppendData(writer.Buffer.Span[..n]);
                await writer.WriteAsync(n, ct);
                copied += n;
            }
        }
        var actual = Digest.FromHash(digest.Algorithm, hash.GetHashAndReset());
        if (actual != digest) throw new InvalidDataException($"damaged: the source's file {path} ({copied} bytes) hashes to {actual}");
        return copied;
    }
}
