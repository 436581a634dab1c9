using Berth.Core.Metadata;

namespace Berth.Core.Webhooks;

/// <summary>
/// What a webhook can subscribe to, by the names users write, and which outbox kinds (<see cref="EventKinds"/>) each
/// covers; the action each kind becomes in the notification envelope; and the repository pattern.
/// </summary>
public static class WebhookEvents
{
    public const string Push = "push";
    public const string Pull = "pull";
    public const string Delete = "delete";
    public const string Tag = "tag";
    public const string Quota = "quota";

    /// <summary>Every subscription name, in the order documentation lists them.</summary>
    public static readonly IReadOnlyList<string> Names = [Push, Pull, Delete, Tag, Quota];

    /// <summary>The subscription name an outbox kind falls under, or null for kinds no hook receives (accounts, grants, blobs).</summary>
    public static string? SubscriptionOf(string kind) => kind switch
    {
        EventKinds.ManifestPut => Push,
        EventKinds.Pull => Pull,
        EventKinds.ManifestDelete or EventKinds.TagDelete => Delete,
        EventKinds.TagMove => Tag,
        EventKinds.QuotaExceeded => Quota,
        _ => null,
    };

    /// <summary>The envelope's <c>action</c> (distribution's push, pull and delete; Berth's own tag and quota).</summary>
    public static string ActionOf(string kind) => SubscriptionOf(kind) ?? kind;

    /// <summary>Longest accepted repository pattern.</summary>
    public const int MaxPatternLength = 256;

    /// <summary>
    /// Whether <paramref name="repository"/> matches <paramref name="pattern"/>: empty matches every name; <c>*</c> any run
    /// of characters within one path component, <c>**</c> any run across components; everything else itself.
    /// Linear in both lengths (no backtracking), so a pattern cannot be made to cost more than its size.
    /// </summary>
    public static bool Matches(string pattern, string repository)
    {
        if (pattern.Length == 0) return true;
        // The pattern as tokens: a character, '*' (Star: not across '/') or "**" (AnyStar).
        var tokens = new List<char>(pattern.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                tokens.Add(AnyStar);
                while (i + 1 < pattern.Length && pattern[i + 1] == '*') i++;
            }
            else
            {
                tokens.Add(pattern[i] == '*' ? Star : pattern[i]);
            }
        }
        // The token positions reachable after each character of the name (a set of states, no backtracking).
        var current = new bool[tokens.Count + 1];
        var next = new bool[tokens.Count + 1];
        current[0] = true;
        Close(tokens, current);
        foreach (var ch in repository)
        {
            Array.Clear(next);
            for (var i = 0; i < tokens.Count; i++)
            {
                if (!current[i]) continue;
                var t = tokens[i];
                if (t == AnyStar || (t == Star && ch != '/')) next[i] = true;
                else if (t == ch) next[i + 1] = true;
            }
            Close(tokens, next);
            (current, next) = (next, current);
        }
        return current[tokens.Count];
    }

    // Characters a repository name never holds stand for the stars.
    private const char Star = '\u0001';
    private const char AnyStar = '\u0002';

    // A star may match nothing: a state at a star also reaches the position after it.
    private static void Close(List<char> tokens, bool[] states)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            if (states[i] && tokens[i] is Star or AnyStar) states[i + 1] = true;
        }
    }
}
