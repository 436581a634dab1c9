namespace Berth.Core.Access;

/// <summary>What may be done to a repository: the actions of the Docker token scope <c>repository:NAME:ACTIONS</c>.</summary>
[Flags]
public enum RepoActions
{
    None = 0,
    Pull = 1,
    Push = 2,
    Delete = 4,
    All = Pull | Push | Delete,
}

/// <summary>A role granted on a namespace or a repository. Each role includes the ones below it.</summary>
public enum Role
{
    None = 0,
    Read = 1,
    Write = 2,
    Admin = 3,
}

public enum Visibility
{
    Private,
    Public,
}

public enum AccountKind
{
    User,
    Robot,
    Organization,
}

public static class AccessText
{
    public static RepoActions Actions(this Role role) => role switch
    {
        Role.Read => RepoActions.Pull,
        Role.Write => RepoActions.Pull | RepoActions.Push,
        Role.Admin => RepoActions.All,
        _ => RepoActions.None,
    };

    /// <summary>Parses "pull,push" (the token scope's action list); "*" is every action. Unknown actions are ignored, as distribution does.</summary>
    public static RepoActions ParseActions(string text)
    {
        var actions = RepoActions.None;
        foreach (var a in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            actions |= a switch
            {
                "pull" => RepoActions.Pull,
                "push" => RepoActions.Push,
                "delete" => RepoActions.Delete,
                "*" => RepoActions.All,
                _ => RepoActions.None,
            };
        }
        return actions;
    }

    public static IReadOnlyList<string> Names(RepoActions actions)
    {
        var names = new List<string>(3);
        if (actions.HasFlag(RepoActions.Pull)) names.Add("pull");
        if (actions.HasFlag(RepoActions.Push)) names.Add("push");
        if (actions.HasFlag(RepoActions.Delete)) names.Add("delete");
        return names;
    }

    public static string Format(RepoActions actions) => string.Join(',', Names(actions));

    public static bool TryParseRole(string text, out Role role)
    {
        role = text switch { "read" => Role.Read, "write" => Role.Write, "admin" => Role.Admin, _ => Role.None };
        return role != Role.None;
    }

    public static string Format(Role role) => role.ToString().ToLowerInvariant();

    public static bool TryParseVisibility(string text, out Visibility visibility)
    {
        visibility = text == "public" ? Visibility.Public : Visibility.Private;
        return text is "public" or "private";
    }

    public static string Format(Visibility visibility) => visibility == Visibility.Public ? "public" : "private";

    /// <summary>The namespace of a repository is its first path component; a single-component name lives in the root namespace (null).</summary>
    public static string? Namespace(string repository)
    {
        var slash = repository.IndexOf('/');
        return slash < 0 ? null : repository[..slash];
    }
}

/// <summary>
/// What a token may be used for: <c>acme/api</c> (one repository), <c>acme/*</c> (a namespace) or <c>*</c>
/// (everything its account may do), with the actions allowed there.
/// </summary>
public sealed record TokenScope(string Pattern, RepoActions Actions)
{
    public bool Matches(string repository) =>
        Pattern == "*" || Pattern == repository || (Pattern.EndsWith("/*", StringComparison.Ordinal) && repository.StartsWith(Pattern[..^1], StringComparison.Ordinal));

    public override string ToString() => $"{Pattern}:{AccessText.Format(Actions)}";

    /// <summary>"acme/*:pull,push" or "acme/api:pull"; null when malformed.</summary>
    public static TokenScope? Parse(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0) return null;
        var pattern = text[..colon].Trim();
        var actions = AccessText.ParseActions(text[(colon + 1)..]);
        if (actions == RepoActions.None) return null;
        var repo = pattern.EndsWith("/*", StringComparison.Ordinal) ? pattern[..^2] : pattern;
        if (pattern != "*" && !Names.IsValidRepository(repo)) return null;
        return new TokenScope(pattern, actions);
    }

    public static RepoActions Allowed(IReadOnlyList<TokenScope> scopes, string repository)
    {
        var allowed = RepoActions.None;
        foreach (var s in scopes) if (s.Matches(repository)) allowed |= s.Actions;
        return allowed;
    }
}

/// <summary>
/// Who is asking. <see cref="Scopes"/> narrows an account's rights when it signed in with an access token;
/// <see cref="Granted"/> is set for a bearer token from the token endpoint, whose access list was decided when it was issued.
/// </summary>
public sealed record Caller(AccountKind? Kind, string? Name, bool IsAdmin = false, IReadOnlyList<TokenScope>? Scopes = null, string? TokenId = null)
{
    public static readonly Caller Anonymous = new(null, null);

    public bool IsAnonymous => Kind is null;

    public IReadOnlyDictionary<string, RepoActions>? Granted { get; init; }

    /// <summary>The client's address, for the audit log and per-address limits.</summary>
    public string? Address { get; init; }

    /// <summary>Unrestricted: signed in with a password, or a token whose scope is everything.</summary>
    public bool HasFullRights => Kind == AccountKind.User && Granted is null && (Scopes is null || Scopes.Any(s => s.Pattern == "*" && s.Actions == RepoActions.All));

    public override string ToString() => Name ?? "anonymous";
}
