namespace Berth.Core.Metadata;

/// <summary>How many blobs the registry holds and their bytes, as the metadata records them.</summary>
public sealed record BlobTotals(long Blobs, long Bytes);

/// <summary>Totals for metrics. Contract: counts every committed blob once, whichever repositories link it; a full scan is allowed (called periodically, not per request).</summary>
public interface IRegistryStats
{
    Task<BlobTotals> BlobTotalsAsync(CancellationToken ct);
}
