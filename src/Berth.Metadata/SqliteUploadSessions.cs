using System.Data.Common;
using Berth.Core;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class SqliteUploadSessions(SqliteDatabase db) : IUploadSessions
{
    private const string Columns = "id, repository, size, started, updated, committing";

    public async Task CreateUploadAsync(UploadSession session, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "INSERT INTO uploads (id, repository, size, started, updated) VALUES ($id, $r, $s, $t, $u)", ct,
            ("$id", session.Id), ("$r", session.Repository), ("$s", session.Size), ("$t", Ms(session.Started)), ("$u", Ms(session.Updated)));
    }

    public Task<IAsyncDisposable> LockUploadAsync(string id, CancellationToken ct) => db.UploadLocks.AcquireAsync(id, ct);

    public async Task<UploadSession?> GetUploadAsync(string id, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var list = await Rows(c, null, $"SELECT {Columns} FROM uploads WHERE id = $id", Read, ct, ("$id", id));
        return list.Count == 0 ? null : list[0];
    }

    public async Task UpdateUploadAsync(string id, long size, DateTimeOffset updated, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "UPDATE uploads SET size = $s, updated = $u WHERE id = $id", ct, ("$id", id), ("$s", size), ("$u", Ms(updated)));
    }

    public async Task MarkUploadCommittingAsync(string id, long size, Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "UPDATE uploads SET size = $s, committing = $d WHERE id = $id", ct, ("$id", id), ("$s", size), ("$d", digest.ToString()));
    }

    public async Task CompleteUploadAsync(UploadSession session, Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var now = db.Now();
        await EnsureRepository(c, tx, session.Repository, now, ct);
        await Exec(c, tx, "INSERT INTO blobs (digest, size, created) VALUES ($d, $s, $t) ON CONFLICT DO NOTHING", ct, ("$d", digest.ToString()), ("$s", session.Size), ("$t", now));
        await Link(c, tx, session.Repository, digest.ToString(), now, ct);
        await Exec(c, tx, "DELETE FROM uploads WHERE id = $id", ct, ("$id", session.Id));
        await Event(c, tx, new RegistryEvent(0, Time(now), EventKinds.BlobUpload, session.Repository, Digest: digest.ToString(), Detail: session.Id), ct);
        await tx.CommitAsync(ct);
    }

    public async Task DeleteUploadAsync(string id, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "DELETE FROM uploads WHERE id = $id", ct, ("$id", id));
    }

    public async Task<IReadOnlyList<UploadSession>> ListUploadsUpdatedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, $"SELECT {Columns} FROM uploads WHERE updated < $t LIMIT 10000", Read, ct, ("$t", Ms(cutoff)));
    }

    private static UploadSession Read(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetInt64(2), Time(r.GetInt64(3)), Time(r.GetInt64(4)),
        r.IsDBNull(5) ? null : Digest.Parse(r.GetString(5)));
}
