namespace Berth.Core.Metadata;

/// <summary>
/// A search (<see cref="IRepositories.SearchAsync"/>). <see cref="Text"/> is split into words (runs of letters and digits,
/// lower-cased); a repository matches when each word begins a word of its name, description or labels. Pages go by
/// <see cref="Offset"/> (docker search's pages) or, with <see cref="After"/>, continue after that repository in the ranking.
/// </summary>
public sealed record SearchQuery(string Text, int Limit = 25, int Offset = 0, string? After = null);

/// <summary>
/// One page of results and <see cref="Total"/>: how many results there are (after <see cref="SearchQuery.After"/> when given),
/// counted exactly up to <see cref="SearchTerms.MaxResults"/> (see docs/architecture.md, "Search", for the bound).
/// </summary>
public sealed record SearchPage(IReadOnlyList<RepositoryEntry> Results, int Total);

/// <summary>A namespace or repository a site administrator marked official.</summary>
public sealed record OfficialMark(string Target, bool IsNamespace, DateTimeOffset Created);

/// <summary>How a search text becomes the words both backends match, and the bounds every backend keeps.</summary>
public static class SearchTerms
{
    /// <summary>Results beyond this many are not served and not counted (Docker Hub stops at 10,000).</summary>
    public const int MaxResults = 1000;

    /// <summary>A query whose words match at most this many repositories (visible or not) is answered from the index's
    /// matches, ranked in full; one matching more walks the ranking in order and checks each repository's words.</summary>
    public const int FewMatches = 5000;

    /// <summary>For a query of the second kind, the count of visible results looks at no more than this many matches.</summary>
    public const int CountedMatches = 2_000;

    /// <summary>Words of a query or of labels: at most 8, each at most 64 characters.</summary>
    public static IReadOnlyList<string> Words(string text)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length && words.Count < 8; i++)
        {
            var inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0) start = i;
            else if (!inWord && start >= 0)
            {
                var word = text[start..Math.Min(i, start + 64)].ToLowerInvariant();
                if (!words.Contains(word)) words.Add(word);
                start = -1;
            }
        }
        return words;
    }

    /// <summary>The repository name the query may be exactly (the first result when it exists and is visible), or null.</summary>
    public static string? ExactName(string text)
    {
        var name = text.Trim().ToLowerInvariant();
        return name.Length > 0 && Names.IsValidRepository(name) ? name : null;
    }
}
