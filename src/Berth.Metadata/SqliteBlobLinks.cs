using Berth.Core;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class SqliteBlobLinks(SqliteDatabase db) : IBlobLinks
{
    private const string LinkedSize = "SELECT b.size FROM repository_blobs l JOIN blobs b ON b.digest = l.digest WHERE l.repository = $r AND l.digest = $d";

    public Task<long?> GetLinkedBlobAsync(string repository, Digest digest, CancellationToken ct)
    {
        var size = ReadScalar(db, LinkedSize, ct, ("$r", repository), ("$d", digest.ToString()));
        return Task.FromResult(size is null ? null : (long?)Convert.ToInt64(size));
    }

    public async Task<string?> FindMountSourceAsync(Digest digest, RepositoryFilter readable, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Scalar(c, null, $"SELECT repository FROM repository_blobs WHERE digest = $d AND {SqliteRepositories.Readable("repository")} ORDER BY repository LIMIT 1",
            ct, [("$d", digest.ToString()), .. SqliteRepositories.ReadableParameters(readable)]) as string;
    }

    public async Task<long?> MountBlobAsync(string repository, Digest digest, string source, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var size = await Scalar(c, tx, LinkedSize, ct, ("$r", source), ("$d", digest.ToString()));
        if (size is null) return null;
        var now = db.Now();
        await EnsureRepository(c, tx, repository, now, ct);
        await Link(c, tx, repository, digest.ToString(), now, ct);
        await Event(c, tx, new RegistryEvent(0, Time(now), EventKinds.BlobMount, repository, Digest: digest.ToString(), Detail: source), ct);
        await tx.CommitAsync(ct);
        return Convert.ToInt64(size);
    }

    public async Task<bool> UnlinkBlobAsync(string repository, Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        if (await Exec(c, tx, "DELETE FROM repository_blobs WHERE repository = $r AND digest = $d", ct, ("$r", repository), ("$d", digest.ToString())) == 0) return false;
        await Event(c, tx, new RegistryEvent(0, Time(db.Now()), EventKinds.BlobUnlink, repository, Digest: digest.ToString()), ct);
        await tx.CommitAsync(ct);
        return true;
    }
}
