namespace Berth.Core.Metadata;

/// <summary>A manifest or a link: something of one repository named by digest.</summary>
public sealed record RepositoryDigest(string Repository, Digest Digest);

/// <summary>A blob garbage collection marked for deletion: its file goes next, then its row.</summary>
public sealed record DoomedBlob(Digest Digest, long Size);

/// <summary>
/// Claims of writers on digests they are about to store (docs/architecture.md, "Garbage collection"). A writer claims a
/// digest before it touches storage and releases it after the transaction that records what it stored; garbage
/// collection marks a blob for deletion only while nobody claims it, and a claim is refused while a mark stands.
/// Contract for every backend: a claim and a mark of one digest are serialised (one waits for the other's transaction),
/// so exactly one of them wins; claims are independent of each other (any number may hold one digest).
/// </summary>
public interface IBlobClaims
{
    /// <summary>Records claim <paramref name="claim"/> on <paramref name="digest"/>; false (nothing recorded) while garbage collection is deleting it.</summary>
    Task<bool> TryClaimAsync(Digest digest, string claim, DateTimeOffset now, CancellationToken ct);

    /// <summary>Removes the claim; absent claims are not an error.</summary>
    Task ReleaseClaimAsync(Digest digest, string claim, CancellationToken ct);
}

/// <summary>
/// What garbage collection asks of the metadata and changes in it. Every change re-checks its conditions in its own
/// transaction, under locks that conflict with the writers it could race (see each method), so a list read earlier may be
/// stale without harm: a candidate that gained a holder meanwhile is skipped. Lists are in key order after a cursor.
/// </summary>
public interface IGarbageIndex
{
    /// <summary>Manifests created before <paramref name="before"/> that no tag of their repository points at, after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<RepositoryDigest>> ListUntaggedManifestsAsync(DateTimeOffset before, RepositoryDigest? after, int limit, CancellationToken ct);

    /// <summary>
    /// Deletes the manifest (with its references, and an event) if it is still created before <paramref name="before"/>,
    /// untagged, no manifest of its repository references it (a child of an index), its subject is not a manifest of its
    /// repository (a referrer of a kept manifest), and no writer claims its digest. False when it stays.
    /// </summary>
    Task<bool> DeleteUntaggedManifestAsync(RepositoryDigest manifest, DateTimeOffset before, CancellationToken ct);

    /// <summary>Links created before <paramref name="before"/> that no manifest of their repository references, after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<RepositoryDigest>> ListStaleLinksAsync(DateTimeOffset before, RepositoryDigest? after, int limit, CancellationToken ct);

    /// <summary>
    /// Removes those of <paramref name="links"/> that are still created before <paramref name="before"/> and unreferenced,
    /// in one transaction (an event each); a manifest push that checked one of them commits first or finds it gone.
    /// Returns how many went.
    /// </summary>
    Task<int> UnlinkStaleAsync(IReadOnlyList<RepositoryDigest> links, DateTimeOffset before, CancellationToken ct);

    /// <summary>Blobs recorded before <paramref name="before"/>, not marked, that nothing links or references, after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<DoomedBlob>> ListUnreferencedBlobsAsync(DateTimeOffset before, Digest? after, int limit, CancellationToken ct);

    /// <summary>Those of <paramref name="digests"/> that have no blob row at all (files the metadata never recorded).</summary>
    Task<IReadOnlyList<Digest>> ListUnrecordedAsync(IReadOnlyList<Digest> digests, CancellationToken ct);

    /// <summary>
    /// In one transaction, marks for deletion those of <paramref name="candidates"/> that nothing holds: no link, no
    /// reference, no manifest with the digest, no claim, no upload committing it; a recorded blob must also be recorded
    /// before <paramref name="before"/>; an unrecorded one (an orphan file, its size from the listing) gets a marked row.
    /// Serialised per digest with <see cref="IBlobClaims.TryClaimAsync"/>. Returns the marked blobs.
    /// </summary>
    Task<IReadOnlyList<DoomedBlob>> MarkDeletingAsync(IReadOnlyList<DoomedBlob> candidates, DateTimeOffset before, DateTimeOffset now, CancellationToken ct);

    /// <summary>Blobs marked for deletion (by this run, or by one that died before finishing), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<DoomedBlob>> ListDeletingAsync(int limit, CancellationToken ct);

    /// <summary>Removes the rows of marked blobs whose files are gone, which lets waiting writers store them again.</summary>
    Task ForgetDeletedAsync(IReadOnlyList<Digest> digests, CancellationToken ct);

    /// <summary>Removes claims made before <paramref name="before"/> (left by writers that died); returns how many.</summary>
    Task<int> DeleteClaimsBeforeAsync(DateTimeOffset before, CancellationToken ct);

    /// <summary>Keeps the report of the last run (JSON), replacing the previous one, for every node and the CLI.</summary>
    Task SaveReportAsync(string json, DateTimeOffset finished, CancellationToken ct);

    /// <summary>The last run's report, or null when none ran.</summary>
    Task<string?> LastReportAsync(CancellationToken ct);
}
