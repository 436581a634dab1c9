using System.Text.RegularExpressions;

namespace Berth.Core.Access;

/// <summary>
/// The rules the account services share, and the one parser of access input (scopes, roles, visibility) for the
/// management API and the CLI alike.
/// </summary>
public static partial class AccountRules
{
    public const int MinPasswordLength = 8;

    /// <summary>The CLI acts with the rights of the machine's operator.</summary>
    public static readonly Caller Operator = new(AccountKind.User, "(cli)", IsAdmin: true) { Address = "local" };

    [GeneratedRegex("^[a-z0-9]+(?:[._-][a-z0-9]+)*$")]
    private static partial Regex NamePattern();

    public static bool IsValidName(string name) => name.Length is >= 2 and <= 64 && NamePattern().IsMatch(name);

    /// <summary>
    /// A token names what it is for, at least one PATTERN:ACTIONS; there is no default. <c>*:*</c> is everything its
    /// account may do.
    /// </summary>
    public static IReadOnlyList<TokenScope> ParseScopes(IEnumerable<string> texts)
    {
        var scopes = texts.Select(t => TokenScope.Parse(t) ?? throw new RegistryException(ErrorCode.InvalidRequest,
            $"scope \"{ErrorDetail.Clip(t)}\" is not PATTERN:ACTIONS, such as acme/api:pull or acme/*:pull,push")).ToList();
        return scopes.Count > 0 ? scopes : throw NoScope();
    }

    /// <summary>"read", "write", "admin", or "none" (which revokes a grant).</summary>
    public static Role ParseRole(string text)
    {
        var role = Role.None;
        if (text != "none" && !AccessText.TryParseRole(text, out role)) throw new RegistryException(ErrorCode.InvalidRequest, "role must be read, write, admin or none");
        return role;
    }

    public static Visibility ParseVisibility(string text) =>
        AccessText.TryParseVisibility(text, out var v) ? v : throw new RegistryException(ErrorCode.InvalidRequest, "visibility must be public or private");

    /// <summary>
    /// A token's expiry from a duration such as 30d or 12h after <paramref name="now"/>: the one parser of the
    /// management API's expiresIn and the CLI's --expires (<paramref name="field"/> names it in the error).
    /// </summary>
    public static DateTimeOffset ParseExpiry(string text, DateTimeOffset now, string field) =>
        TryParseDuration(text, out var span) && span > TimeSpan.Zero
            ? now + span
            : throw new RegistryException(ErrorCode.InvalidRequest, $"{field} must be a duration such as 30d or 12h");

    /// <summary>"90s", "30m", "24h", "7d": the durations of expiries and of the configuration.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        var t = text.Trim();
        if (t.Length < 2 || !double.TryParse(t[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 0) return false;
        value = t[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => TimeSpan.MinValue,
        };
        return value != TimeSpan.MinValue;
    }

    internal static RegistryException NoScope() =>
        new(ErrorCode.InvalidRequest, "a token needs at least one scope, such as acme/*:pull or *:pull,push (*:* for everything its account may do)");

    internal static void Require(bool condition, string message)
    {
        if (!condition) throw new RegistryException(ErrorCode.Denied, message);
    }

    /// <summary>Site administrators signed in with a password or an unrestricted token; anyone else is refused with DENIED.</summary>
    public static void RequireSiteAdmin(Caller actor) => Require(actor.IsAdmin && actor.HasFullRights, "only an administrator may do this");

    internal static void RequireName(string name)
    {
        if (!IsValidName(name)) throw new RegistryException(ErrorCode.InvalidRequest, $"\"{ErrorDetail.Clip(name)}\" is not a valid name: 2-64 of a-z, 0-9, and . _ - between them");
    }

    internal static void RequirePassword(string password)
    {
        if (password.Length < MinPasswordLength) throw new RegistryException(ErrorCode.InvalidRequest, $"a password needs at least {MinPasswordLength} characters");
    }

    internal static RegistryException NotFound(string what, string name) => new(ErrorCode.NotFound, $"no {what} {ErrorDetail.Clip(name)}");

    internal static async Task<Account> RequireAccountAsync(IAccounts accounts, string name, AccountKind? kind, CancellationToken ct)
    {
        var account = await accounts.GetAccountAsync(name, ct);
        return account is not null && (kind is null || account.Kind == kind) ? account : throw NotFound(kind == AccountKind.User ? "user" : "account", name);
    }

    internal static async Task RequireTargetAdminAsync(AccessControl access, Caller actor, string target, bool isNamespace, CancellationToken ct)
    {
        var admin = isNamespace
            ? await access.NamespaceRoleAsync(actor, target, ct) == Role.Admin
            : actor.HasFullRights && (await access.DecideAsync(actor, target, RepoActions.All, ct)) == RepoActions.All;
        Require(admin, $"only an administrator of {target} may do this");
    }
}
