namespace Berth.Core.Metadata;

/// <param name="Committing">Set once the content was verified and is being moved into the store: a completion
/// interrupted by a crash is finished from there, without the upload's data (which may already be moved).</param>
public sealed record UploadSession(string Id, string Repository, long Size, DateTimeOffset Started, DateTimeOffset Updated, Digest? Committing = null);

/// <summary>
/// Upload sessions: what survives a restart of a blob upload in progress. Contract for every backend: a lookup of
/// an absent session returns null; updates and deletes of an absent session do nothing.
/// </summary>
public interface IUploadSessions
{
    Task CreateUploadAsync(UploadSession session, CancellationToken ct);

    /// <summary>
    /// Waits until no other holder, in this or any process sharing the store, holds upload <paramref name="id"/>, and holds it
    /// until the result is disposed (or the holding process dies), so appends and completions of one upload arriving at
    /// different nodes run one after another. Works for an id with no session too; holds nothing in the session's row, so
    /// the holder's own updates on other connections do not wait for it.
    /// </summary>
    Task<IAsyncDisposable> LockUploadAsync(string id, CancellationToken ct);

    Task<UploadSession?> GetUploadAsync(string id, CancellationToken ct);

    /// <summary>Records the acknowledged size and the time of the last append.</summary>
    Task UpdateUploadAsync(string id, long size, DateTimeOffset updated, CancellationToken ct);

    /// <summary>Records that the upload's verified content, <paramref name="size"/> bytes, is being committed as <paramref name="digest"/>.</summary>
    Task MarkUploadCommittingAsync(string id, long size, Digest digest, CancellationToken ct);

    /// <summary>
    /// In one transaction: records the committed blob, links it to the session's repository (creating the
    /// repository) and deletes the session.
    /// </summary>
    Task CompleteUploadAsync(UploadSession session, Digest digest, CancellationToken ct);

    Task DeleteUploadAsync(string id, CancellationToken ct);

    /// <summary>Sessions whose last update is before <paramref name="cutoff"/> (a bounded batch: call again after deleting them).</summary>
    Task<IReadOnlyList<UploadSession>> ListUploadsUpdatedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct);
}
