using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth.Core.Policies;

/// <summary>Usage of a namespace as the API shows it.</summary>
public sealed record UsageReport(string Namespace, long Bytes, long? Quota);

/// <summary>
/// Policies as callers manage them (the management API and the CLI): who may read and change which document, the
/// validation of documents, usage and the tag listing with pull statistics. Rights: administrators of a namespace (or
/// repository) for its immutable-tags and retention policies; site administrators for quotas, which namespace
/// administrators may read with their usage.
/// </summary>
public sealed class PolicyService(IPolicies policies, ITagStatistics statistics, AccessControl access, QuotaService quotas, TimeProvider time)
{
    /// <summary>The document, or null when none is set. <paramref name="target"/> is "ns/" or a repository name.</summary>
    public async Task<string?> GetAsync(Caller caller, string target, string kind, CancellationToken ct)
    {
        RequireKind(kind);
        await RequireAdminAsync(caller, target, ct);
        return await policies.GetAsync(target, kind, ct);
    }

    /// <summary>Validates and stores the document (null removes it); returns what is stored.</summary>
    public async Task<string?> SetAsync(Caller caller, string target, string kind, string? body, CancellationToken ct)
    {
        RequireKind(kind);
        if (kind == PolicyKinds.Quota)
        {
            AccountRules.Require(PolicyTarget.IsNamespace(target), "quotas are set per namespace");
            AccountRules.RequireSiteAdmin(caller);
        }
        else
        {
            await RequireAdminAsync(caller, target, ct);
        }
        var canonical = body is null ? null : PolicyJson.Validate(kind, body);
        await policies.SetAsync(target, kind, canonical, time.GetUtcNow(), ct);
        if (kind == PolicyKinds.Quota) quotas.Forget(target[..^1]);
        return canonical;
    }

    public async Task<UsageReport> UsageAsync(Caller caller, string ns, CancellationToken ct)
    {
        await RequireAdminAsync(caller, PolicyTarget.Namespace(ns), ct);
        var usage = await policies.UsageAsync(ns, null, ct);
        var body = await policies.GetAsync(PolicyTarget.Namespace(ns), PolicyKinds.Quota, ct);
        return new UsageReport(ns, usage.Bytes, body is null ? null : PolicyJson.ReadQuota(body)?.Bytes);
    }

    /// <summary>Tags with push and pull times, for whoever may pull the repository; null when it does not exist or may not be read.</summary>
    public async Task<IReadOnlyList<TagDetail>?> ListTagsAsync(Caller caller, string repository, string? last, int limit, CancellationToken ct)
    {
        if ((await access.DecideAsync(caller, repository, RepoActions.Pull, ct) & RepoActions.Pull) == 0) return null;
        return await statistics.ListTagDetailsAsync(repository, last, limit, ct);
    }

    /// <summary>Administrators of the namespace (for "ns/") or of the repository; the CLI operator always.</summary>
    public Task RequireAdminAsync(Caller caller, string target, CancellationToken ct) =>
        caller == AccountRules.Operator
            ? Task.CompletedTask
            : AccountRules.RequireTargetAdminAsync(access, caller, PolicyTarget.IsNamespace(target) ? target[..^1] : target, PolicyTarget.IsNamespace(target), ct);

    private static void RequireKind(string kind)
    {
        if (!PolicyKinds.IsKnown(kind)) throw new RegistryException(ErrorCode.NotFound, $"no policy kind {ErrorDetail.Clip(kind)}: immutable-tags, retention or quota");
    }
}
