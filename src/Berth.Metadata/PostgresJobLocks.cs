using System.Security.Cryptography;
using System.Text;
using Berth.Core.Metadata;

namespace Berth.Metadata;

/// <summary>A job is held by a transaction-scoped advisory lock on its own connection: the server frees it when its node dies.</summary>
public sealed class PostgresJobLocks(PostgresDatabase db) : IJobLocks
{
    public Task<IAsyncDisposable?> TryLockAsync(string job, CancellationToken ct) =>
        db.TryHoldAsync(BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("job:" + job))), ct);
}
