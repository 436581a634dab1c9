using System.Diagnostics;
using Berth.Core.Metadata;
using Berth.Core.Storage;

namespace Berth.Core.Registry;

/// <param name="Grace">Links, blobs and files younger than this stay (0 is allowed: correctness rests on locks, not on it).</param>
/// <param name="UntaggedAge">Untagged manifests older than this go; null keeps them.</param>
/// <param name="UploadExpiry">Upload sessions idle longer than this go (the upload-expiry job's rule).</param>
public sealed record GcOptions(TimeSpan Grace, TimeSpan? UntaggedAge, bool DryRun, TimeSpan UploadExpiry);

/// <summary>What a run removed (or, in a dry run, found to remove in its first pass).</summary>
public sealed record GcReport
{
    public DateTimeOffset Started { get; init; }
    public bool DryRun { get; init; }
    public double GraceSeconds { get; init; }
    public string Untagged { get; init; } = "keep";
    public int ManifestsRemoved { get; set; }
    public int LinksRemoved { get; set; }
    public int BlobsRemoved { get; set; }
    public int OrphanFilesRemoved { get; set; }
    public int UploadsRemoved { get; set; }
    public int ClaimsExpired { get; set; }
    public long BytesFreed { get; set; }
    public long FilesScanned { get; set; }
    public long DurationMs { get; set; }

    /// <summary>Milliseconds per phase (finish, untagged, links, unreferenced, orphans), for finding where a slow run went.</summary>
    public Dictionary<string, long> PhasesMs { get; init; } = [];

    /// <summary>Up to <see cref="GarbageCollector.ListedLimit"/> digests that went (or would go), for a dry run's reader.</summary>
    public List<string> Blobs { get; init; } = [];

    /// <summary>Up to <see cref="GarbageCollector.ListedLimit"/> manifests (repository@digest) that went (or would go).</summary>
    public List<string> Manifests { get; init; } = [];

    public override string ToString() =>
        $"{(DryRun ? "would remove" : "removed")} {ManifestsRemoved} manifests, {LinksRemoved} links, {BlobsRemoved} blobs, " +
        $"{OrphanFilesRemoved} orphan files, {UploadsRemoved} uploads; {BytesFreed} bytes freed in {DurationMs} ms";
}

/// <summary>
/// Online garbage collection (docs/architecture.md, "Garbage collection"): runs while pushes, pulls and deletes go on.
/// In order: finish blobs a run that died left marked; expire stale claims and upload sessions; delete untagged
/// manifests (per policy, passes until none goes, so an index's children follow it); unlink blobs no manifest of their
/// repository references; mark, delete and forget blobs nothing holds; the same for files the metadata never recorded.
/// Every change is re-checked by the metadata under locks that conflict with writers (<see cref="IGarbageIndex"/>),
/// and a blob's file is deleted only between its mark and its row's removal, while claims are refused
/// (<see cref="IBlobClaims"/>). Batches of <see cref="Batch"/> keep each write transaction short. Run one at a time
/// (the job lock).
/// </summary>
public sealed class GarbageCollector(IGarbageIndex index, IBlobStore blobs, IUploadSessions sessions, UploadService uploads, TimeProvider time)
{
    /// <summary>Rows per transaction: short enough that writers (SQLite has one at a time) never wait long.</summary>
    public const int Batch = 256;

    /// <summary>How many digests and manifests a report names.</summary>
    public const int ListedLimit = 1000;

    /// <summary>A claim older than this was left by a writer that died (a live one holds it for one commit).</summary>
    public static readonly TimeSpan ClaimLifetime = TimeSpan.FromHours(1);

    public async Task<GcReport> RunAsync(GcOptions options, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var now = time.GetUtcNow();
        var report = new GcReport
        {
            Started = now,
            DryRun = options.DryRun,
            GraceSeconds = options.Grace.TotalSeconds,
            Untagged = options.UntaggedAge is { } a ? $"delete after {a.TotalSeconds}s" : "keep",
        };
        var before = now - options.Grace;
        var phase = watch.ElapsedMilliseconds;
        void Phase(string name)
        {
            report.PhasesMs[name] = watch.ElapsedMilliseconds - phase;
            phase = watch.ElapsedMilliseconds;
        }
        if (!options.DryRun)
        {
            await FinishMarkedAsync(report, ct);
            report.ClaimsExpired = await index.DeleteClaimsBeforeAsync(now - ClaimLifetime, ct);
            report.UploadsRemoved = await uploads.ExpireAsync(options.UploadExpiry, ct);
        }
        else
        {
            report.UploadsRemoved = (await sessions.ListUploadsUpdatedBeforeAsync(now - options.UploadExpiry, ct)).Count;
        }
        Phase("finish");
        if (options.UntaggedAge is { } age) await UntaggedAsync(report, now - age, options.DryRun, ct);
        Phase("untagged");
        await LinksAsync(report, before, options.DryRun, ct);
        Phase("links");
        await UnreferencedAsync(report, before, options.DryRun, ct);
        Phase("unreferenced");
        await OrphansAsync(report, before, options.DryRun, ct);
        Phase("orphans");
        report.DurationMs = watch.ElapsedMilliseconds;
        return report;
    }

    private async Task UntaggedAsync(GcReport report, DateTimeOffset before, bool dryRun, CancellationToken ct)
    {
        // Each pass removes manifests nothing in their repository points at; an index removed in one pass frees its
        // children for the next. A dry run reports the first pass only.
        while (true)
        {
            var removed = 0;
            RepositoryDigest? after = null;
            while (true)
            {
                var page = await index.ListUntaggedManifestsAsync(before, after, Batch, ct);
                if (page.Count == 0) break;
                after = page[^1];
                foreach (var m in page)
                {
                    if (!dryRun && !await index.DeleteUntaggedManifestAsync(m, before, ct)) continue;
                    removed++;
                    if (report.Manifests.Count < ListedLimit) report.Manifests.Add($"{m.Repository}@{m.Digest}");
                }
            }
            report.ManifestsRemoved += removed;
            if (removed == 0 || dryRun) return;
        }
    }

    private async Task LinksAsync(GcReport report, DateTimeOffset before, bool dryRun, CancellationToken ct)
    {
        RepositoryDigest? after = null;
        while (true)
        {
            var page = await index.ListStaleLinksAsync(before, after, Batch, ct);
            if (page.Count == 0) return;
            after = page[^1];
            report.LinksRemoved += dryRun ? page.Count : await index.UnlinkStaleAsync(page, before, ct);
        }
    }

    private async Task UnreferencedAsync(GcReport report, DateTimeOffset before, bool dryRun, CancellationToken ct)
    {
        Digest? after = null;
        while (true)
        {
            var page = await index.ListUnreferencedBlobsAsync(before, after, Batch, ct);
            if (page.Count == 0) return;
            after = page[^1].Digest;
            var gone = dryRun ? page : await DeleteAsync(page, before, ct);
            Count(report, gone, orphans: false);
        }
    }

    private async Task OrphansAsync(GcReport report, DateTimeOffset before, bool dryRun, CancellationToken ct)
    {
        var batch = new List<StoredBlob>(Batch);
        await foreach (var stored in blobs.ListAsync(ct))
        {
            report.FilesScanned++;
            batch.Add(stored);
            if (batch.Count == Batch) await FlushAsync();
        }
        await FlushAsync();

        // The metadata first: only the (rare) files it does not record are asked their age, which on a filesystem is a stat.
        async Task FlushAsync()
        {
            if (batch.Count == 0) return;
            var unrecorded = (await index.ListUnrecordedAsync(batch.Select(b => b.Digest).ToList(), ct)).ToHashSet();
            var candidates = batch.Where(b => unrecorded.Contains(b.Digest) && b.Written < before).Select(b => new DoomedBlob(b.Digest, b.Size)).ToList();
            batch.Clear();
            if (candidates.Count == 0) return;
            Count(report, dryRun ? candidates : await DeleteAsync(candidates, before, ct), orphans: true);
        }
    }

    /// <summary>Marks what is still free, deletes the marked files, then their rows (which lets waiting writers go on).</summary>
    private async Task<IReadOnlyList<DoomedBlob>> DeleteAsync(IReadOnlyList<DoomedBlob> candidates, DateTimeOffset before, CancellationToken ct)
    {
        var marked = await index.MarkDeletingAsync(candidates, before, time.GetUtcNow(), ct);
        foreach (var blob in marked) await blobs.DeleteAsync(blob.Digest, ct);
        await index.ForgetDeletedAsync(marked.Select(b => b.Digest).ToList(), ct);
        return marked;
    }

    /// <summary>Blobs a run that died left marked: their files go now (whether or not the run got to them), then their rows.</summary>
    private async Task FinishMarkedAsync(GcReport report, CancellationToken ct)
    {
        while (true)
        {
            var marked = await index.ListDeletingAsync(Batch, ct);
            if (marked.Count == 0) return;
            foreach (var blob in marked) await blobs.DeleteAsync(blob.Digest, ct);
            await index.ForgetDeletedAsync(marked.Select(b => b.Digest).ToList(), ct);
            Count(report, marked, orphans: false);
        }
    }

    private static void Count(GcReport report, IReadOnlyList<DoomedBlob> gone, bool orphans)
    {
        if (orphans) report.OrphanFilesRemoved += gone.Count; else report.BlobsRemoved += gone.Count;
        foreach (var blob in gone)
        {
            report.BytesFreed += blob.Size;
            if (report.Blobs.Count < ListedLimit) report.Blobs.Add(blob.Digest.ToString());
        }
    }
}
