using System.Collections.Concurrent;
using System.Globalization;
using Berth.Core.Metadata;

namespace Berth.Core.Policies;

/// <summary>
/// Namespace quotas: the check the push paths run (blob upload completion, mount, manifest PUT) before they store. Usage
/// is computed from the links on demand (<see cref="IPolicies.UsageAsync"/>), only for namespaces that have a quota; the
/// quota itself is cached per node for <see cref="QuotaCacheTime"/>. The check is not in the storing transaction: pushes
/// running at the same moment can each pass it, so a namespace may end over its quota by what those pushes add; the next
/// push (and every manifest PUT, which is what makes an image pullable by tag) is then refused until space is freed.
/// </summary>
public sealed class QuotaService(IPolicies policies, TimeProvider time)
{
    public static readonly TimeSpan QuotaCacheTime = TimeSpan.FromSeconds(5);
    private const int MaxCached = 10_000;

    private readonly ConcurrentDictionary<string, (QuotaPolicy? Quota, long Until)> _quotas = new(StringComparer.Ordinal);

    /// <summary>
    /// Refuses with DENIED when storing <paramref name="digest"/> (of <paramref name="adding"/> bytes, unless the namespace
    /// holds it already, or the registry holds it, whose recorded size then counts) in <paramref name="repository"/>
    /// would take its namespace over its quota; writes a <see cref="EventKinds.QuotaExceeded"/> event when it refuses.
    /// </summary>
    public async ValueTask CheckAsync(string repository, Digest? digest, Func<CancellationToken, ValueTask<long>> adding, string what, CancellationToken ct)
    {
        var ns = PolicyTarget.NamespaceOf(repository);
        if (ns.Length == 0 || await QuotaAsync(ns, ct) is not { } quota) return;
        var usage = await policies.UsageAsync(ns, digest, ct);
        if (usage.Holds) return;
        var size = usage.Size ?? await adding(ct);
        if (usage.Bytes + size <= quota.Bytes) return;
        var detail = $"quota={quota.Bytes} usage={usage.Bytes} adding={size}";
        await policies.RecordEventAsync(new RegistryEvent(0, time.GetUtcNow(), EventKinds.QuotaExceeded, repository, Digest: digest?.ToString(), Detail: detail), ct);
        throw new RegistryException(ErrorCode.Denied,
            $"quota exceeded: namespace {ns} has a quota of {Bytes(quota.Bytes)} and uses {Bytes(usage.Bytes)}; this {what} of {Bytes(size)} does not fit",
            ErrorDetail.Of(("namespace", ns), ("quota", quota.Bytes.ToString(CultureInfo.InvariantCulture)), ("usage", usage.Bytes.ToString(CultureInfo.InvariantCulture))));
    }

    /// <summary>The namespace's quota (cached for a few seconds), or null.</summary>
    public async ValueTask<QuotaPolicy?> QuotaAsync(string ns, CancellationToken ct)
    {
        var now = time.GetTimestamp();
        if (_quotas.TryGetValue(ns, out var cached) && cached.Until > now) return cached.Quota;
        var body = await policies.GetAsync(PolicyTarget.Namespace(ns), PolicyKinds.Quota, ct);
        var quota = body is null ? null : PolicyJson.ReadQuota(body);
        if (_quotas.Count >= MaxCached) _quotas.Clear();
        _quotas[ns] = (quota, now + (long)(QuotaCacheTime.TotalSeconds * time.TimestampFrequency));
        return quota;
    }

    /// <summary>Drops the cached quota of <paramref name="ns"/> (this node changed it).</summary>
    public void Forget(string ns) => _quotas.TryRemove(ns, out _);

    /// <summary>"1.5 GiB (1610612736 bytes)": readable, and exact.</summary>
    public static string Bytes(long n)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        double v = n;
        var u = 0;
        while (v >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 0 ? $"{n} bytes" : string.Create(CultureInfo.InvariantCulture, $"{v:0.##} {units[u]} ({n} bytes)");
    }
}
