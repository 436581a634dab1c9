using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Berth.Core;
using Npgsql;
using NpgsqlTypes;

namespace Berth.Metadata;

/// <summary>
/// Moves a single node's metadata (SQLite) into PostgreSQL, for <c>berth migrate</c>: every table the two schemas share,
/// row for row, in one transaction, by COPY. The two schema files keep the same tables and columns (different types);
/// a column PostgreSQL has and SQLite lacks is left to its default, one SQLite has and PostgreSQL lacks is refused.
/// </summary>
public static partial class MetadataCopy
{
    /// <summary>Every committed blob of the source, in digest order: what the blob storage must hold before the metadata moves.</summary>
    public static async IAsyncEnumerable<(Digest Digest, long Size)> BlobsAsync(SqliteDatabase source, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var c = await source.ConnectAsync(ct);
        await using var cmd = Sql.Command(c, null, "SELECT digest, size FROM blobs ORDER BY digest");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) yield return (Digest.Parse(r.GetString(0)), r.GetInt64(1));
    }

    /// <summary>
    /// Copies every table; refuses a target that already holds repositories or accounts. Returns the rows copied per
    /// table, in copy order. Identity sequences continue after the source's highest id ever given out.
    /// </summary>
    public static async Task<IReadOnlyList<(string Table, long Rows)>> CopyAsync(SqliteDatabase source, PostgresDatabase target, CancellationToken ct)
    {
        await using var from = await source.ConnectAsync(ct);
        await using var to = await target.ConnectAsync(ct);
        foreach (var table in new[] { "repositories", "accounts" })
        {
            if (Convert.ToInt64(await Sql.Scalar(to, null, $"SELECT count(*) FROM {table}", ct)) > 0)
            {
                throw new InvalidOperationException($"the target database already holds {table}: migrate into an empty one");
            }
        }
        var copied = new List<(string, long)>();
        await using var tx = await to.BeginTransactionAsync(ct);
        foreach (var table in Tables())
        {
            var columns = await Sql.Rows(to, tx, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = @t ORDER BY ordinal_position",
                r => (Name: r.GetString(0), Type: r.GetString(1)), ct, ("@t", table));
            var sourceColumns = await Sql.Rows(from, null, $"SELECT name FROM pragma_table_info('{table}')", r => r.GetString(0), ct);
            if (sourceColumns.Except(columns.Select(c => c.Name)).FirstOrDefault() is { } missing)
            {
                throw new InvalidOperationException($"{table}.{missing} has no column in the PostgreSQL schema");
            }
            var shared = columns.Where(c => sourceColumns.Contains(c.Name)).ToList();
            var list = string.Join(", ", shared.Select(c => c.Name));
            long rows = 0;
            await using (var import = await to.BeginBinaryImportAsync($"COPY {table} ({list}) FROM STDIN (FORMAT BINARY)", ct))
            {
                await using var cmd = Sql.Command(from, null, $"SELECT {list} FROM {table}");
                await using var r = await cmd.ExecuteReaderAsync(ct);
                while (await r.ReadAsync(ct))
                {
                    await import.StartRowAsync(ct);
                    for (var i = 0; i < shared.Count; i++)
                    {
                        if (r.IsDBNull(i)) await import.WriteNullAsync(ct);
                        else await WriteAsync(import, r.GetValue(i), shared[i].Type, $"{table}.{shared[i].Name}", ct);
                    }
                    rows++;
                }
                await import.CompleteAsync(ct);
            }
            copied.Add((table, rows));
        }
        foreach (var table in new[] { "audit_events", "events", "webhooks", "webhook_deliveries" })
        {
            // SQLite's sqlite_sequence remembers ids of pruned rows too; they are never given out again.
            var last = Convert.ToInt64(await Sql.Scalar(from, null,
                $"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), coalesce((SELECT max(id) FROM {table}), 0))", ct));
            if (last > 0) await Sql.Exec(to, tx, $"SELECT setval(pg_get_serial_sequence('{table}', 'id'), @n)", ct, ("@n", last));
        }
        await tx.CommitAsync(ct);
        return copied;
    }

    /// <summary>The tables in the order the SQLite schema creates them, which references respect; not repository_ranks,
    /// which the target's triggers derive from the tables copied.</summary>
    private static IEnumerable<string> Tables() =>
        SqliteSchema.Steps.SelectMany(step => CreateTable().Matches(step)).Select(m => m.Groups[1].Value).Distinct().Except(["repository_ranks"]);

    private static Task WriteAsync(NpgsqlBinaryImporter import, object value, string type, string column, CancellationToken ct) => type switch
    {
        "bigint" => import.WriteAsync(Convert.ToInt64(value), NpgsqlDbType.Bigint, ct),
        "integer" => import.WriteAsync(Convert.ToInt32(value), NpgsqlDbType.Integer, ct),
        "smallint" => import.WriteAsync(Convert.ToInt16(value), NpgsqlDbType.Smallint, ct),
        "boolean" => import.WriteAsync(Convert.ToInt64(value) != 0, NpgsqlDbType.Boolean, ct),
        "text" or "character varying" => import.WriteAsync(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!, NpgsqlDbType.Text, ct),
        "bytea" => import.WriteAsync((byte[])value, NpgsqlDbType.Bytea, ct),
        "double precision" => import.WriteAsync(Convert.ToDouble(value), NpgsqlDbType.Double, ct),
        "timestamp with time zone" => import.WriteAsync(DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(value)).UtcDateTime, NpgsqlDbType.TimestampTz, ct),
        _ => throw new InvalidOperationException($"{column}: no copy for PostgreSQL type {type}"),
    };

    [GeneratedRegex(@"CREATE TABLE (?:IF NOT EXISTS )?(\w+)")]
    private static partial Regex CreateTable();
}
