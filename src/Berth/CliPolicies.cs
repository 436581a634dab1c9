using System.CommandLine;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Policies;
using Berth.Core.Registry;
using Berth.Hosting;

namespace Berth;

/// <summary>
/// The verbs of policies and integrity (policy, usage, retention, scrub), on the data directory directly with the
/// operator's rights, through the same services as the management API. A running server on the same data reads policy
/// changes at its next push (immutable tags), within 5 s (quotas) or at its next run (retention).
/// </summary>
internal sealed partial class Cli
{
    private IEnumerable<Command> PolicyVerbs()
    {
        var target = new Argument<string>("target") { Description = "a repository (acme/api), or a namespace written with a trailing slash (acme/)" };
        var kind = new Argument<string>("kind") { Description = "immutable-tags, retention or quota (quota: namespaces only)" };
        kind.AcceptOnlyFromAmong(PolicyKinds.ImmutableTags, PolicyKinds.Retention, PolicyKinds.Quota);
        var document = new Argument<string>("json") { Description = "the policy: {\"patterns\":[\"*\"],\"except\":[\"latest\"]}, {\"keepLast\":10,\"protect\":[\"release-*\"]}, {\"bytes\":1073741824}" };
        yield return Group("policy", "Policies per namespace or repository: immutable tags, retention, quota",
            PolicyVerb("get", "Print a policy", [target, kind], async (p, s, ct) =>
                output.WriteLine(await s.Policies.GetAsync(AccountRules.Operator, Target(p.GetValue(target)!), p.GetValue(kind)!, ct)
                    ?? throw new RegistryException(ErrorCode.NotFound, $"no {p.GetValue(kind)} policy is set for {p.GetValue(target)}"))),
            PolicyVerb("set", "Set a policy (replacing the one set before)", [target, kind, document], async (p, s, ct) =>
                output.WriteLine(await s.Policies.SetAsync(AccountRules.Operator, Target(p.GetValue(target)!), p.GetValue(kind)!, p.GetValue(document)!, ct))),
            PolicyVerb("delete", "Remove a policy", [target, kind], async (p, s, ct) =>
                await s.Policies.SetAsync(AccountRules.Operator, Target(p.GetValue(target)!), p.GetValue(kind)!, null, ct)));

        var ns = new Argument<string>("namespace") { Description = "a user's or organisation's namespace (acme in acme/api)" };
        yield return PolicyVerb("usage", "Print the bytes a namespace holds (each distinct blob once) and its quota", [ns], async (p, s, ct) =>
        {
            var usage = await s.Policies.UsageAsync(AccountRules.Operator, p.GetValue(ns)!, ct);
            output.WriteLine($"{usage.Namespace}\t{usage.Bytes}\t{(usage.Quota is { } q ? q.ToString(System.Globalization.CultureInfo.InvariantCulture) : "no quota")}");
        });

        var retentionTarget = new Argument<string?>("target") { Description = "a repository, or a namespace with a trailing slash (default: every repository a retention policy reaches)", Arity = ArgumentArity.ZeroOrOne };
        var dryRun = new Option<bool>("--dry-run") { Description = "list what would be removed, remove nothing" };
        yield return PolicyVerb("retention", "Apply retention policies now: deletes tags only (garbage collection frees the rest later)", [retentionTarget, dryRun], async (p, s, ct) =>
        {
            var report = await s.Retention().RunAsync(p.GetValue(retentionTarget) is { } t ? Target(t) : null, p.GetValue(dryRun), ct);
            foreach (var r in report.Removed) output.WriteLine($"{(report.DryRun ? "would remove" : "removed")}\t{r.Repository}:{r.Tag}\t{r.Digest}\t{r.Reason}");
            foreach (var e in report.Errors) error.WriteLine($"refused\t{e}");
            error.WriteLine($"{report.Removed.Count} tags {(report.DryRun ? "would go" : "removed")}, {report.TagsKept} kept, in {report.Repositories} repositories");
        });

        var parallelism = new Option<int?>("--parallelism") { Description = "blobs read and hashed at once (default: scrubParallelism)" };
        yield return PolicyVerb("scrub", "Re-hash every blob and check every manifest's references; quarantine damaged content (exit 1 when any is found)", [parallelism], async (p, s, ct) =>
        {
            var report = await s.Scrub().RunAsync(p.GetValue(parallelism) ?? s.Options.ScrubParallelism, ct);
            foreach (var d in report.Damaged) output.WriteLine($"damaged\t{d.Digest}\t{d.Problem}");
            foreach (var d in report.Dangling) output.WriteLine($"dangling\t{d.Repository}\t{d.Manifest}\t{d.Target}");
            error.WriteLine(ScrubJob.ScrubOutcome(report));
            if (report.Damaged.Count > 0 || report.Dangling.Count > 0) throw new RegistryException(ErrorCode.Denied, $"{report.Damaged.Count} damaged blobs, {report.Dangling.Count} dangling references");
        });
    }

    private static string Target(string text) =>
        text.EndsWith('/') ? (AccountRules.IsValidName(text[..^1]) ? text : throw new RegistryException(ErrorCode.InvalidRequest, $"\"{ErrorDetail.Clip(text)}\" is not a namespace"))
        : Names.IsValidRepository(text) ? text : throw new RegistryException(ErrorCode.InvalidRequest, $"\"{ErrorDetail.Clip(text)}\" is not a repository name");

    /// <summary>What the policy verbs work with: the stores, and the blob storage when a verb needs it.</summary>
    private sealed class PolicyContext(BerthOptions options, Backends backends, TimeProvider time)
    {
        public BerthOptions Options => options;

        public PolicyService Policies { get; } = new(backends.Policies, backends.TagStatistics, backends.AccessServices(options, time).Access,
            new QuotaService(backends.Policies, time), time);

        public RetentionService Retention() => new(backends.Policies, backends.TagStatistics, new RegistryCache(), time);

        public ScrubService Scrub() => new(backends.Integrity, Storage().Blobs, new Quarantine(backends.Integrity), time);

        private BlobStorage? _storage;

        private BlobStorage Storage() => _storage ??= Backends.OpenBlobStorageAsync(options, time, CancellationToken.None).GetAwaiter().GetResult();
    }

    private Command PolicyVerb(string name, string description, Symbol[] symbols, Func<ParseResult, PolicyContext, CancellationToken, Task> run) =>
        BackendVerb(name, description, symbols, (parse, options, backends, ct) => run(parse, new PolicyContext(options, backends, time), ct));
}
