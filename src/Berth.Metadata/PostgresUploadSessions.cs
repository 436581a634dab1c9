using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Berth.Core;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class PostgresUploadSessions(PostgresDatabase db) : IUploadSessions
{
    private const string Columns = "id, repository, size, started, updated, committing";

    public async Task CreateUploadAsync(UploadSession session, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "INSERT INTO uploads (id, repository, size, started, updated) VALUES (@id, @r, @s, @t, @u)", ct,
            ("@id", session.Id), ("@r", session.Repository), ("@s", session.Size), ("@t", Ms(session.Started)), ("@u", Ms(session.Updated)));
    }

    /// <summary>
    /// An advisory lock keyed by a 64-bit hash of the id, held in a transaction on a connection of its own (nothing in the
    /// session's row, so the holder's updates through other connections do not wait); released when disposed, or by the
    /// server when the holder's process or connection dies.
    /// </summary>
    public Task<IAsyncDisposable> LockUploadAsync(string id, CancellationToken ct) =>
        db.HoldAsync(BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("upload:" + id))), ct);

    public async Task<UploadSession?> GetUploadAsync(string id, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var list = await Rows(c, null, $"SELECT {Columns} FROM uploads WHERE id = @id", Read, ct, ("@id", id));
        return list.Count == 0 ? null : list[0];
    }

    public async Task UpdateUploadAsync(string id, long size, DateTimeOffset updated, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "UPDATE uploads SET size = @s, updated = @u WHERE id = @id", ct, ("@id", id), ("@s", size), ("@u", Ms(updated)));
    }

    public async Task MarkUploadCommittingAsync(string id, long size, Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "UPDATE uploads SET size = @s, committing = @d WHERE id = @id", ct, ("@id", id), ("@s", size), ("@d", digest.ToString()));
    }

    public async Task CompleteUploadAsync(UploadSession session, Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var now = db.Now();
        await Pg.EnsureRepository(c, tx, session.Repository, now, ct);
        await Exec(c, tx, "INSERT INTO blobs (digest, size, created) VALUES (@d, @s, @t) ON CONFLICT DO NOTHING", ct, ("@d", digest.ToString()), ("@s", session.Size), ("@t", now));
        await Pg.Link(c, tx, session.Repository, digest.ToString(), now, ct);
        await Exec(c, tx, "DELETE FROM uploads WHERE id = @id", ct, ("@id", session.Id));
        await Pg.Events(c, tx, ct, new RegistryEvent(0, Time(now), EventKinds.BlobUpload, session.Repository, Digest: digest.ToString(), Detail: session.Id));
        await tx.CommitAsync(ct);
    }

    public async Task DeleteUploadAsync(string id, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "DELETE FROM uploads WHERE id = @id", ct, ("@id", id));
    }

    public async Task<IReadOnlyList<UploadSession>> ListUploadsUpdatedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, $"SELECT {Columns} FROM uploads WHERE updated < @t LIMIT 10000", Read, ct, ("@t", Ms(cutoff)));
    }

    private static UploadSession Read(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetInt64(2), Time(r.GetInt64(3)), Time(r.GetInt64(4)),
        r.IsDBNull(5) ? null : Digest.Parse(r.GetString(5)));
}
