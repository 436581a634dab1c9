using Berth.Core.Metadata;
using Berth.Core.Registry;

namespace Berth.Core.Policies;

public sealed record RetentionRemoval(string Repository, string Tag, string Digest, DateTimeOffset Pushed, DateTimeOffset? LastPulled, string Reason);

/// <summary>What a retention run removed (or, dry, would remove), and what it could not.</summary>
public sealed record RetentionReport(bool DryRun, int Repositories, int TagsKept, IReadOnlyList<RetentionRemoval> Removed, IReadOnlyList<string> Errors);

/// <summary>
/// Applies retention policies (<see cref="RetentionPolicy"/>): plans per repository from its tags' push and pull times,
/// then deletes each tag that goes with <see cref="IPolicies.DeleteTagIfAsync"/>, only while it still points at the
/// digest the plan saw (a tag pushed again since the plan is kept), in a transaction that also refuses immutable tags and
/// writes the tag.delete event (other nodes drop their cached copy from it; this node's cache is dropped here). Only
/// tags are deleted: garbage collection frees the manifests and blobs nothing references any more.
/// </summary>
public sealed class RetentionService(IPolicies policies, ITagStatistics statistics, RegistryCache cache, TimeProvider time)
{
    /// <summary>Runs for one target ("ns/" or a repository), or for every repository some retention policy reaches (null).</summary>
    public async Task<RetentionReport> RunAsync(string? target, bool dryRun, CancellationToken ct)
    {
        var documents = (await policies.ListAsync(PolicyKinds.Retention, ct)).ToDictionary(d => d.Target, d => PolicyJson.ReadRetention(d.Body), StringComparer.Ordinal);
        var repositories = new SortedSet<string>(StringComparer.Ordinal);
        if (target is null)
        {
            foreach (var t in documents.Keys)
            {
                if (PolicyTarget.IsNamespace(t)) repositories.UnionWith(await policies.RepositoriesAsync(t, ct));
                else repositories.Add(t);
            }
        }
        else if (PolicyTarget.IsNamespace(target))
        {
            repositories.UnionWith(await policies.RepositoriesAsync(target, ct));
        }
        else
        {
            repositories.Add(target);
        }
        var immutable = (await policies.ListAsync(PolicyKinds.ImmutableTags, ct)).ToDictionary(d => d.Target, d => PolicyJson.ReadImmutable(d.Body), StringComparer.Ordinal);
        var removed = new List<RetentionRemoval>();
        var errors = new List<string>();
        var kept = 0;
        var now = time.GetUtcNow();
        foreach (var repository in repositories)
        {
            var nsTarget = PolicyTarget.Namespace(PolicyTarget.NamespaceOf(repository));
            var own = documents.GetValueOrDefault(repository);
            var inherited = documents.GetValueOrDefault(nsTarget);
            var policy = own ?? inherited;
            if (policy is null) continue;
            var protect = (policy.Protect ?? []).Concat(inherited?.Protect ?? []).ToList();
            var rules = new[] { immutable.GetValueOrDefault(repository), immutable.GetValueOrDefault(nsTarget) }.OfType<ImmutableTagsPolicy>().ToList();
            var tags = await AllTagsAsync(repository, ct);
            var plan = Plan(repository, policy, protect, rules, tags, now);
            kept += tags.Count - plan.Count;
            foreach (var removal in plan)
            {
                if (dryRun)
                {
                    removed.Add(removal);
                    continue;
                }
                try
                {
                    if (await policies.DeleteTagIfAsync(repository, removal.Tag, Digest.Parse(removal.Digest), ct)) removed.Add(removal);
                    else kept++;
                }
                catch (RegistryException e)
                {
                    errors.Add($"{repository}:{removal.Tag}: {e.Message}");
                }
            }
            if (!dryRun && plan.Count > 0) cache.Invalidate(repository);
        }
        return new RetentionReport(dryRun, repositories.Count, kept, removed, errors);
    }

    /// <summary>The tags of one repository that <paramref name="policy"/> removes, given its tags as they are at <paramref name="now"/>.</summary>
    public static List<RetentionRemoval> Plan(string repository, RetentionPolicy policy, IReadOnlyList<string> protect, IReadOnlyList<ImmutableTagsPolicy> immutable,
        IReadOnlyList<TagDetail> tags, DateTimeOffset now)
    {
        TimeSpan? olderThan = policy.OlderThan is { } o && Access.AccountRules.TryParseDuration(o, out var a) ? a : null;
        TimeSpan? notPulled = policy.NotPulledFor is { } p && Access.AccountRules.TryParseDuration(p, out var b) ? b : null;
        var result = new List<RetentionRemoval>();
        if (policy.KeepLast is null && olderThan is null && notPulled is null) return result;
        var newest = tags.OrderByDescending(t => t.Updated).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        for (var i = 0; i < newest.Count; i++)
        {
            var tag = newest[i];
            if (i < (policy.KeepLast ?? 0)) continue;
            if ((policy.KeepPatterns ?? []).Any(k => TagPattern.Matches(k, tag.Name)) || protect.Any(k => TagPattern.Matches(k, tag.Name))) continue;
            if (immutable.Any(r => r.Match(tag.Name) is not null)) continue;
            string? reason = null;
            if (olderThan is { } age && tag.Updated < now - age) reason = $"pushed more than {policy.OlderThan} ago";
            else if (notPulled is { } idle && (tag.LastPulled ?? tag.Updated) < now - idle) reason = $"not pulled for {policy.NotPulledFor}";
            else if (olderThan is null && notPulled is null) reason = $"not among the {policy.KeepLast} most recently pushed";
            if (reason is not null) result.Add(new RetentionRemoval(repository, tag.Name, tag.Digest.ToString(), tag.Updated, tag.LastPulled, reason));
        }
        return result;
    }

    private async Task<List<TagDetail>> AllTagsAsync(string repository, CancellationToken ct)
    {
        var all = new List<TagDetail>();
        string? last = null;
        while (true)
        {
            var page = await statistics.ListTagDetailsAsync(repository, last, 1000, ct);
            if (page is null || page.Count == 0) return all;
            all.AddRange(page);
            last = page[^1].Name;
        }
    }
}
