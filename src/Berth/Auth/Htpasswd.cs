using Berth.Core.Access;
using Berth.Hosting;

namespace Berth.Auth;

/// <summary>
/// distribution's htpasswd authentication, carried over (<c>auth.htpasswd</c>): at start every bcrypt entry
/// (<c>NAME:$2y$...</c>, as <c>htpasswd -B</c> writes it) becomes a user, or updates the user of that name, as a site
/// administrator (in distribution every signed-in user may do everything), keeping the bcrypt hash, which sign-in then
/// verifies with BCrypt.Net. The file stays the source of those users' passwords: a password changed in Berth is set
/// back at the next start while the file lists the user. Users removed from the file are kept (delete them with
/// <c>berth user delete</c>). Entries of other schemes (MD5 <c>$apr1$</c>, SHA1, crypt) are skipped with a warning,
/// as distribution accepts only bcrypt.
/// </summary>
internal static class Htpasswd
{
    /// <summary>Creates or updates the file's users; the warnings to log (never a hash or a password).</summary>
    public static async Task<IReadOnlyList<string>> ImportAsync(string path, IAccounts accounts, AccessServices access, TimeProvider time, CancellationToken ct)
    {
        string[] lines;
        try
        {
            lines = await File.ReadAllLinesAsync(path, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"auth.htpasswd: cannot read {path}: {(Directory.Exists(path) ? "it is a directory" : Configuration.ConfigLoader.Describe(e))}", ExitCodes.Usage);
        }
        var warnings = new List<string>();
        int created = 0, kept = 0;
        foreach (var (line, number) in lines.Select((l, i) => (l.Trim(), i + 1)))
        {
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var colon = line.IndexOf(':');
            var name = colon > 0 ? line[..colon] : "";
            var hash = colon > 0 ? line[(colon + 1)..] : "";
            if (!IsBcrypt(hash))
            {
                warnings.Add($"auth.htpasswd: {path} line {number}{(name.Length > 0 ? $" ({name})" : "")} is not a bcrypt entry (htpasswd -B); skipped");
                continue;
            }
            var existing = await accounts.GetAccountAsync(name, ct);
            if (existing is { Kind: AccountKind.User, IsAdmin: true } && existing.PasswordHash == hash)
            {
                kept++;
                continue;
            }
            if (!AccountRules.IsValidName(name))
            {
                warnings.Add($"auth.htpasswd: {path} line {number}: \"{Core.ErrorDetail.Clip(name)}\" is not a valid Berth user name (2-64 of a-z, 0-9, and . _ - between them); skipped");
                continue;
            }
            if (!await accounts.UpsertUserAsync(name, hash, true, time.GetUtcNow(), ct))
            {
                warnings.Add($"auth.htpasswd: {name} is a robot or organisation here; skipped");
                continue;
            }
            created++;
            await access.Audit.RecordAsync(AccountRules.Operator with { Name = "(start)" }, "user.htpasswd", name, true, $"created or updated from {path}", ct);
        }
        if (created > 0) access.Access.Invalidate();
        warnings.Add($"auth.htpasswd: {created + kept} users from {path} ({created} created or updated), site administrators signing in with their htpasswd passwords");
        return warnings;
    }

    private static bool IsBcrypt(string hash) =>
        hash.Length == 60 && hash[0] == '$' && hash[1] == '2' && hash[2] is 'a' or 'b' or 'y' && hash[3] == '$';

    /// <summary>Sign-in's password check: bcrypt for hashes imported from an htpasswd file, Berth's own PBKDF2 otherwise.</summary>
    public static bool VerifyPassword(string password, string? stored)
    {
        if (stored is null || !IsBcrypt(stored)) return Secrets.VerifyPassword(password, stored);
        try
        {
            return BCrypt.Net.BCrypt.Verify(password, stored);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            return false;
        }
    }
}
