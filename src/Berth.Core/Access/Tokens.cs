namespace Berth.Core.Access;

/// <param name="SecretHash">SHA-256 of the secret, hex; the secret itself is shown once and never stored.</param>
public sealed record AccessToken(string Id, string Account, string Name, string SecretHash, IReadOnlyList<TokenScope> Scopes,
    DateTimeOffset Created, DateTimeOffset? Expires, DateTimeOffset? Revoked);

/// <summary>
/// Access tokens (hashes only). Contract for every backend: a lookup of an absent token is null; a revoked token is
/// kept, with the time it was revoked; scopes come back as they were stored.
/// </summary>
public interface ITokens
{
    Task CreateTokenAsync(AccessToken token, CancellationToken ct);

    Task<AccessToken?> GetTokenAsync(string id, CancellationToken ct);

    /// <summary>The account's tokens, revoked and expired ones included, oldest first.</summary>
    Task<IReadOnlyList<AccessToken>> ListTokensAsync(string account, CancellationToken ct);

    /// <summary>False when the token does not exist or was already revoked.</summary>
    Task<bool> RevokeTokenAsync(string id, DateTimeOffset now, CancellationToken ct);
}
