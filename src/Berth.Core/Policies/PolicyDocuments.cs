using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Core.Policies;

/// <summary>The kinds of policy document <see cref="Metadata.IPolicies"/> keeps.</summary>
public static class PolicyKinds
{
    public const string ImmutableTags = "immutable-tags";
    public const string Retention = "retention";
    public const string Quota = "quota";

    public static bool IsKnown(string kind) => kind is ImmutableTags or Retention or Quota;
}

/// <summary>Where a policy applies: a namespace is stored as "ns/" (as namespace grants are), a repository by its name.</summary>
public static class PolicyTarget
{
    public static string Namespace(string ns) => ns + "/";

    public static bool IsNamespace(string target) => target.EndsWith('/');

    /// <summary>The namespace of a repository ("" for a single-component name, which no namespace policy reaches).</summary>
    public static string NamespaceOf(string repository)
    {
        var slash = repository.IndexOf('/');
        return slash < 0 ? "" : repository[..slash];
    }

    public static string Describe(string target) => IsNamespace(target) ? $"namespace {target[..^1]}" : $"repository {target}";
}

/// <summary>
/// Tags that may not move to another manifest or be deleted: those matching a pattern of <see cref="Patterns"/> and none
/// of <see cref="Except"/>. Patterns are globs: <c>*</c> any run of characters, <c>?</c> one ("v*"; ["*"] except ["latest"]).
/// </summary>
public sealed record ImmutableTagsPolicy(IReadOnlyList<string> Patterns, IReadOnlyList<string>? Except = null)
{
    /// <summary>The pattern that makes <paramref name="tag"/> immutable, or null.</summary>
    public string? Match(string tag)
    {
        if (Except is { } except && except.Any(e => TagPattern.Matches(e, tag))) return null;
        return Patterns.FirstOrDefault(p => TagPattern.Matches(p, tag));
    }
}

/// <summary>
/// Which tags retention removes. A tag is kept when it is among the <see cref="KeepLast"/> most recently pushed, matches
/// <see cref="KeepPatterns"/> or <see cref="Protect"/>, or is immutable. Any other tag goes when it was pushed longer than
/// <see cref="OlderThan"/> ago or last pulled (pushed, if never pulled) longer than <see cref="NotPulledFor"/> ago; with
/// neither age set, every tag not kept goes. A policy with neither KeepLast nor an age removes nothing. Protect patterns of
/// the namespace's policy also hold for its repositories' own policies.
/// </summary>
public sealed record RetentionPolicy(int? KeepLast = null, IReadOnlyList<string>? KeepPatterns = null, string? OlderThan = null, string? NotPulledFor = null,
    IReadOnlyList<string>? Protect = null);

/// <summary>The most bytes a namespace may hold (distinct blobs and manifests, each counted once).</summary>
public sealed record QuotaPolicy(long Bytes);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(ImmutableTagsPolicy))]
[JsonSerializable(typeof(RetentionPolicy))]
[JsonSerializable(typeof(QuotaPolicy))]
public sealed partial class PolicyJson : JsonSerializerContext
{
    public static ImmutableTagsPolicy? ReadImmutable(string body) => Read(body, Default.ImmutableTagsPolicy);

    public static RetentionPolicy? ReadRetention(string body) => Read(body, Default.RetentionPolicy);

    public static QuotaPolicy? ReadQuota(string body) => Read(body, Default.QuotaPolicy);

    private static T? Read<T>(string body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(body, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Checks a document given by a caller and returns its canonical JSON; a mistake is INVALID_REQUEST naming it.
    /// </summary>
    public static string Validate(string kind, string body)
    {
        try
        {
            switch (kind)
            {
                case PolicyKinds.ImmutableTags:
                    var immutable = JsonSerializer.Deserialize(body, Default.ImmutableTagsPolicy) ?? throw Invalid("a JSON object is required");
                    if (immutable.Patterns is not { Count: > 0 }) throw Invalid("\"patterns\" needs at least one pattern, such as \"v*\" or \"*\"");
                    CheckPatterns(immutable.Patterns.Concat(immutable.Except ?? []));
                    return JsonSerializer.Serialize(immutable, Default.ImmutableTagsPolicy);
                case PolicyKinds.Retention:
                    var retention = JsonSerializer.Deserialize(body, Default.RetentionPolicy) ?? throw Invalid("a JSON object is required");
                    if (retention.KeepLast is < 0) throw Invalid("\"keepLast\" must be 0 or more");
                    foreach (var (name, value) in new[] { ("olderThan", retention.OlderThan), ("notPulledFor", retention.NotPulledFor) })
                    {
                        if (value is not null && !(Access.AccountRules.TryParseDuration(value, out var d) && d > TimeSpan.Zero))
                        {
                            throw Invalid($"\"{name}\" must be a duration such as 30d or 12h");
                        }
                    }
                    CheckPatterns((retention.KeepPatterns ?? []).Concat(retention.Protect ?? []));
                    return JsonSerializer.Serialize(retention, Default.RetentionPolicy);
                case PolicyKinds.Quota:
                    var quota = JsonSerializer.Deserialize(body, Default.QuotaPolicy) ?? throw Invalid("a JSON object is required");
                    if (quota.Bytes < 0) throw Invalid("\"bytes\" must be 0 or more");
                    return JsonSerializer.Serialize(quota, Default.QuotaPolicy);
                default:
                    throw Invalid($"unknown policy kind \"{ErrorDetail.Clip(kind)}\": immutable-tags, retention or quota");
            }
        }
        catch (JsonException e)
        {
            throw Invalid($"the {kind} policy is not valid: {e.Message}");
        }
    }

    private static void CheckPatterns(IEnumerable<string> patterns)
    {
        foreach (var p in patterns)
        {
            if (string.IsNullOrEmpty(p) || p.Length > 128 || p.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' or '*' or '?')))
            {
                throw Invalid($"\"{ErrorDetail.Clip(p ?? "")}\" is not a tag pattern: tag characters with * and ?");
            }
        }
    }

    private static RegistryException Invalid(string message) => new(ErrorCode.InvalidRequest, message);
}

/// <summary>Glob matching of tags: <c>*</c> matches any run of characters (also none), <c>?</c> exactly one; case-sensitive.</summary>
public static class TagPattern
{
    public static bool Matches(string pattern, string tag)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < tag.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == tag[t]))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}

/// <summary>The check the metadata transactions that move or delete a tag run, with the rule rows they read in that transaction.</summary>
public static class TagImmutability
{
    /// <summary>
    /// Throws DENIED when a rule among <paramref name="rules"/> (target, JSON body) makes <paramref name="tag"/> immutable;
    /// the message names the tag, the pattern and where the rule is set, and is what docker, podman and skopeo print.
    /// </summary>
    public static void Check(string repository, string tag, IEnumerable<(string Target, string Body)> rules, bool deleting)
    {
        foreach (var (target, body) in rules)
        {
            if (PolicyJson.ReadImmutable(body)?.Match(tag) is { } pattern)
            {
                var what = deleting ? "deleted" : "moved to another manifest";
                throw new RegistryException(ErrorCode.Denied,
                    $"tag {tag} of {repository} is immutable (pattern \"{pattern}\" of the immutable-tags policy of {PolicyTarget.Describe(target)}) and cannot be {what}",
                    ErrorDetail.Of(("tag", tag), ("pattern", pattern), ("policy", target)));
            }
        }
    }
}
