using Berth.Core;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class PostgresBlobLinks(PostgresDatabase db) : IBlobLinks
{
    private const string LinkedSize = "SELECT b.size FROM repository_blobs l JOIN blobs b ON b.digest = l.digest WHERE l.repository = @r AND l.digest = @d";

    public async Task<long?> GetLinkedBlobAsync(string repository, Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var size = await Scalar(c, null, LinkedSize, ct, ("@r", repository), ("@d", digest.ToString()));
        return size is null ? null : Convert.ToInt64(size);
    }

    public async Task<string?> FindMountSourceAsync(Digest digest, RepositoryFilter readable, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Scalar(c, null, $"SELECT l.repository FROM repository_blobs l WHERE l.digest = @d AND {PostgresRepositories.Readable("l.repository")} ORDER BY l.repository LIMIT 1",
            ct, [("@d", digest.ToString()), .. PostgresRepositories.ReadableParameters(readable)]) as string;
    }

    public async Task<long?> MountBlobAsync(string repository, Digest digest, string source, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        // FOR SHARE: an unlink of the source's link waits for this mount to commit, or this mount sees it gone.
        var size = await Scalar(c, tx, LinkedSize + " FOR SHARE OF l", ct, ("@r", source), ("@d", digest.ToString()));
        if (size is null) return null;
        var now = db.Now();
        await Pg.EnsureRepository(c, tx, repository, now, ct);
        await Pg.Link(c, tx, repository, digest.ToString(), now, ct);
        await Pg.Events(c, tx, ct, new RegistryEvent(0, Time(now), EventKinds.BlobMount, repository, Digest: digest.ToString(), Detail: source));
        await tx.CommitAsync(ct);
        return Convert.ToInt64(size);
    }

    public async Task<bool> UnlinkBlobAsync(string repository, Digest digest, CancellationToken ct)
    {
        return await Pg.Recorded(db, new RegistryEvent(0, Time(db.Now()), EventKinds.BlobUnlink, repository, Digest: digest.ToString()),
            "DELETE FROM repository_blobs WHERE repository = @r AND digest = @d", ct, ("@r", repository), ("@d", digest.ToString())) > 0;
    }
}
