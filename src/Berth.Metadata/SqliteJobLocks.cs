using Berth.Core.Metadata;

namespace Berth.Metadata;

/// <summary>One process serves a SQLite database: its jobs are held in memory.</summary>
public sealed class SqliteJobLocks(SqliteDatabase db) : IJobLocks
{
    public Task<IAsyncDisposable?> TryLockAsync(string job, CancellationToken ct) => Task.FromResult(db.JobLocks.TryAcquire(job));
}
