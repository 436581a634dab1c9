using Berth.Core.Metadata;

namespace Berth.Hosting;

/// <summary>
/// Counts the blobs and their bytes from the metadata for <see cref="RegistryMetrics"/>: a scan of the blobs table, so it
/// runs every few minutes rather than at each scrape (a million blobs take a fraction of a second).
/// </summary>
internal sealed class StorageStats(IRegistryStats stats, RegistryMetrics metrics) : IScheduledJob
{
    public string Name => "storage-stats";

    public TimeSpan Period => TimeSpan.FromMinutes(5);

    public async Task<string> RunAsync(CancellationToken ct)
    {
        var totals = await stats.BlobTotalsAsync(ct);
        metrics.StorageMeasured(totals.Blobs, totals.Bytes);
        return $"{totals.Blobs} blobs, {totals.Bytes} bytes";
    }
}
