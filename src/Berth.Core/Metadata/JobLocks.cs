namespace Berth.Core.Metadata;

/// <summary>
/// Which process runs a periodic job now: with several nodes on one database, each job runs on one node at a time.
/// Contract for every backend: while a hold on a name is not disposed (and its process lives), every other attempt
/// on that name, from any process, gets null at once instead of waiting; names are independent of each other.
/// </summary>
public interface IJobLocks
{
    /// <summary>A hold on <paramref name="job"/>, or null when another holder has it.</summary>
    Task<IAsyncDisposable?> TryLockAsync(string job, CancellationToken ct);
}
