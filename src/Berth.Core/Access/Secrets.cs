using System.Security.Cryptography;
using System.Text;

namespace Berth.Core.Access;

/// <summary>Password hashing (PBKDF2-HMAC-SHA512, OWASP's 210,000 iterations) and access-token secrets.</summary>
public static class Secrets
{
    private const int Iterations = 210_000;
    private const string Scheme = "pbkdf2-sha512";

    /// <summary>"pbkdf2-sha512$ITERATIONS$SALT$HASH", base64; the iteration count travels with the hash so it can rise later.</summary>
    public static string HashPassword(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, Iterations, HashAlgorithmName.SHA512, 32);
        return $"{Scheme}${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    public static bool VerifyPassword(string password, string? stored)
    {
        var parts = stored?.Split('$');
        if (parts is not { Length: 4 } || parts[0] != Scheme || !int.TryParse(parts[1], out var iterations) || iterations < 1) return false;
        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var expected = Convert.FromBase64String(parts[3]);
            var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A hash nobody's password matches, verified instead when the account does not exist, so both take the same time.</summary>
    public static readonly string DummyHash = HashPassword(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)));

    public const string TokenPrefix = "berth_";

    /// <summary>A new token: its id (public, the lookup key) and the full secret "berth_ID_SECRET" shown once to the user.</summary>
    public static (string Id, string Secret, string SecretHash) NewToken()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = $"{TokenPrefix}{id}_{Base64Url(RandomNumberGenerator.GetBytes(32))}";
        return (id, secret, HashToken(secret));
    }

    /// <summary>The id inside a token secret, or null when <paramref name="secret"/> does not look like one.</summary>
    public static string? TokenId(string secret)
    {
        if (!secret.StartsWith(TokenPrefix, StringComparison.Ordinal) || secret.Length != TokenPrefix.Length + 16 + 1 + 43) return null;
        var id = secret.Substring(TokenPrefix.Length, 16);
        return secret[TokenPrefix.Length + 16] == '_' && id.All(Uri.IsHexDigit) ? id : null;
    }

    // Token secrets carry 256 random bits: a fast hash is enough, no stretching needed.
    public static string HashToken(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool VerifyToken(string secret, string storedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(HashToken(secret)), Encoding.ASCII.GetBytes(storedHash));

    public static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
