namespace Berth.Core.Metadata;

/// <summary>
/// Which blobs each repository may serve (its links): a blob is read through a repository only if that
/// repository links it. Contract for every backend: absent things are null or false, never an exception;
/// names are repository names already validated by <see cref="Names"/>.
/// </summary>
public interface IBlobLinks
{
    /// <summary>The blob's size when <paramref name="repository"/> links it, else null.</summary>
    Task<long?> GetLinkedBlobAsync(string repository, Digest digest, CancellationToken ct);

    /// <summary>
    /// The first repository, in name order, that links <paramref name="digest"/> and that <paramref name="readable"/>
    /// admits; null when there is none. The whole question is one query, whatever the number of repositories.
    /// </summary>
    Task<string?> FindMountSourceAsync(Digest digest, RepositoryFilter readable, CancellationToken ct);

    /// <summary>
    /// Links a blob that <paramref name="source"/> links into <paramref name="repository"/> (creating the repository), in
    /// one short transaction that checks the source still links it. Returns the size, or null when the source does not
    /// link it. The caller decides beforehand that the source may be read.
    /// </summary>
    Task<long?> MountBlobAsync(string repository, Digest digest, string source, CancellationToken ct);

    /// <summary>Removes the repository's link to a blob; false when it had none.</summary>
    Task<bool> UnlinkBlobAsync(string repository, Digest digest, CancellationToken ct);
}
