using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class SqliteRegistryStats(SqliteDatabase db) : IRegistryStats
{
    public async Task<BlobTotals> BlobTotalsAsync(CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var rows = await Rows(c, null, "SELECT count(*), coalesce(sum(size), 0) FROM blobs", r => new BlobTotals(r.GetInt64(0), r.GetInt64(1)), ct);
        return rows[0];
    }
}

public sealed class PostgresRegistryStats(PostgresDatabase db) : IRegistryStats
{
    public async Task<BlobTotals> BlobTotalsAsync(CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var rows = await Rows(c, null, "SELECT count(*), coalesce(sum(size), 0)::bigint FROM blobs", r => new BlobTotals(r.GetInt64(0), r.GetInt64(1)), ct);
        return rows[0];
    }
}
