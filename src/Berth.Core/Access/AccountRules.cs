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

    internal static RegistryException NoScope() =>
        new(ErrorCode.InvalidRequest, "a token needs at least one scope, such as acme/*:pull or *:pull,push (*:* for everything its account may do)");

    internal static void Require(bool condition, string message)
    {
        if (!condition) throw new RegistryException(ErrorCode.Denied, message);
    }

    internal static void RequireSiteAdmin(Caller actor) => Require(actor.IsAdmin && actor.HasFullRights, "only an administrator may do this");

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
