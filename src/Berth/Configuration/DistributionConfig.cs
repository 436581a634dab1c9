using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Berth.Configuration;

/// <summary>
/// One of distribution's <c>notifications.endpoints</c>, read as written; events, thresholds and backoff are not read.
/// The webhooks work maps these onto Berth's webhooks.
/// </summary>
public sealed record NotificationEndpoint(string Name, string Url, IReadOnlyDictionary<string, IReadOnlyList<string>> Headers, TimeSpan? Timeout, bool Disabled);

/// <summary>
/// Reads distribution's (registry:2) configuration file (https://distribution.github.io/distribution/about/configuration/),
/// told apart from berth.yml by its <c>version: 0.1</c> and a <c>storage</c> or <c>http</c> section, into Berth's keys:
/// <list type="bullet">
/// <item><c>http.addr</c> is <c>listen</c>, <c>http.host</c> <c>publicUrl</c>, <c>http.tls.certificate</c>/<c>key</c> <c>tlsCert</c>/<c>tlsKey</c>;</item>
/// <item><c>storage.filesystem.rootdirectory</c> is <c>data</c>, except when it holds distribution's own tree
/// (<c>docker/registry/v2</c>): then Berth's data is ROOT/berth, which <c>berth import registry2 ROOT --data ROOT/berth</c>
/// must have created first (refused otherwise, naming that command); another storage driver is refused;</item>
/// <item><c>storage.delete.enabled</c> is the same key in Berth; <c>auth.htpasswd.path</c> is <c>auth.htpasswd</c>;
/// no <c>auth</c> section serves open (<c>open: true</c>), as distribution does; other auth schemes are refused;</item>
/// <item><c>notifications.endpoints</c> become <see cref="BerthOptions.NotificationEndpoints"/>;</item>
/// <item>every other key is ignored and named in one warning.</item>
/// </list>
/// </summary>
internal static class DistributionConfig
{
    internal sealed class Refused(YamlNode node, string message) : Exception($"line {node.Start.Line}: {message}");

    public sealed record Result(List<(string Path, string Value, string WrittenAs, YamlNode Node)> Values, List<string> Warnings, List<NotificationEndpoint> Endpoints);

    public static bool Matches(YamlMappingNode root) =>
        Child(root, "version") is YamlScalarNode && (Child(root, "storage") is YamlMappingNode || Child(root, "http") is YamlMappingNode);

    public static Result Translate(YamlMappingNode root)
    {
        var result = new Result([], [], []);
        var ignored = new List<string>();
        void Set(string path, YamlNode node, string writtenAs)
        {
            if (node is not YamlScalarNode { Value: { } v }) throw new Refused(node, $"\"{writtenAs}\" must be a single value");
            result.Values.Add((path, v, writtenAs, node));
        }

        foreach (var (keyNode, value) in root.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            switch (key)
            {
                case "version":
                    if ((value as YamlScalarNode)?.Value != "0.1") result.Warnings.Add($"version: \"{(value as YamlScalarNode)?.Value}\" read as 0.1");
                    break;
                case "http":
                    foreach (var (k, v) in Mapping(value, "http"))
                    {
                        switch (k)
                        {
                            case "addr": Set("listen", v, "http.addr"); break;
                            case "host": Set("publicUrl", v, "http.host"); break;
                            case "tls":
                                foreach (var (tk, tv) in Mapping(v, "http.tls"))
                                {
                                    if (tk == "certificate") Set("tlsCert", tv, "http.tls.certificate");
                                    else if (tk == "key") Set("tlsKey", tv, "http.tls.key");
                                    else ignored.Add($"http.tls.{tk}");
                                }
                                break;
                            default: ignored.Add($"http.{k}"); break;
                        }
                    }
                    break;
                case "storage":
                    foreach (var (k, v) in Mapping(value, "storage"))
                    {
                        switch (k)
                        {
                            case "filesystem":
                                foreach (var (fk, fv) in Mapping(v, "storage.filesystem"))
                                {
                                    if (fk == "rootdirectory") result.Values.Add(("data", Root(fv), "storage.filesystem.rootdirectory", fv));
                                    else ignored.Add($"storage.filesystem.{fk}");
                                }
                                break;
                            case "delete":
                                foreach (var (dk, dv) in Mapping(v, "storage.delete"))
                                {
                                    if (dk == "enabled") Set("storage.delete.enabled", dv, "storage.delete.enabled");
                                    else ignored.Add($"storage.delete.{dk}");
                                }
                                break;
                            case "cache" or "maintenance" or "redirect" or "tag":
                                ignored.Add($"storage.{k}");
                                break;
                            default:
                                throw new Refused(keyNode, $"storage.{k}: only storage.filesystem is read from a distribution configuration; write a berth.yml for other storage (README, \"Configuration\")");
                        }
                    }
                    break;
                case "auth":
                    foreach (var (k, v) in Mapping(value, "auth"))
                    {
                        if (k != "htpasswd") throw new Refused(keyNode, $"auth.{k}: Berth signs in users itself; only auth.htpasswd is read from a distribution configuration");
                        foreach (var (hk, hv) in Mapping(v, "auth.htpasswd"))
                        {
                            if (hk == "path") Set("auth.htpasswd", hv, "auth.htpasswd.path");
                            else ignored.Add($"auth.htpasswd.{hk}");
                        }
                    }
                    break;
                case "notifications":
                    foreach (var (k, v) in Mapping(value, "notifications"))
                    {
                        if (k != "endpoints")
                        {
                            ignored.Add($"notifications.{k}");
                            continue;
                        }
                        if (v is not YamlSequenceNode list) throw new Refused(v, "notifications.endpoints must be a list");
                        foreach (var e in list) result.Endpoints.Add(Endpoint(e, ignored));
                        result.Warnings.Add($"notifications.endpoints: {result.Endpoints.Count} endpoints read (site-wide webhooks for push, pull and delete)");
                    }
                    break;
                default:
                    ignored.Add(key);
                    break;
            }
        }
        if (Child(root, "auth") is null)
        {
            // distribution without auth serves anyone; so does Berth from its file, and says so at start.
            result.Values.Add(("open", "true", "(no auth section)", root));
            result.Warnings.Add("no auth section: serving open (as distribution does) until a user exists; add auth.htpasswd or set BERTH_ADMIN_PASSWORD to turn authentication on");
        }
        if (ignored.Count > 0) result.Warnings.Add($"ignored (no equivalent in Berth): {string.Join(", ", ignored.Distinct())}");
        return result;
    }

    /// <summary>The data directory a rootdirectory means: itself, or ROOT/berth next to a distribution tree (which must have been imported).</summary>
    private static string Root(YamlNode node)
    {
        if (node is not YamlScalarNode { Value: { Length: > 0 } root }) throw new Refused(node, "storage.filesystem.rootdirectory must name a directory");
        if (!Directory.Exists(Path.Combine(root, "docker", "registry", "v2"))) return root;
        var data = Path.Combine(root, "berth");
        if (File.Exists(Path.Combine(data, "berth.db"))) return data;
        throw new Refused(node, $"storage.filesystem.rootdirectory: {root} holds a distribution (registry:2) store; import it once with " +
            $"'berth import registry2 {root} --data {data}', then serve this file again (Berth keeps its data in {data}; the distribution tree is only read)");
    }

    private static NotificationEndpoint Endpoint(YamlNode node, List<string> ignored)
    {
        string? name = null, url = null;
        TimeSpan? timeout = null;
        var disabled = false;
        var headers = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in Mapping(node, "notifications.endpoints[]"))
        {
            switch (k)
            {
                case "name": name = Scalar(v, k); break;
                case "url": url = Scalar(v, k); break;
                case "timeout": timeout = ParseGoDuration(Scalar(v, k)) ?? throw new Refused(v, $"notifications.endpoints: timeout \"{Scalar(v, k)}\" is not a duration such as 500ms or 5s"); break;
                case "disabled": disabled = bool.TryParse(Scalar(v, k), out var d) && d; break;
                case "headers":
                    foreach (var (hk, hv) in Mapping(v, "notifications.endpoints[].headers"))
                    {
                        headers[hk] = hv is YamlSequenceNode values ? [.. values.Select(x => Scalar(x, hk))] : [Scalar(hv, hk)];
                    }
                    break;
                default: ignored.Add($"notifications.endpoints[].{k}"); break;
            }
        }
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
        {
            throw new Refused(node, "notifications.endpoints: each endpoint needs an http or https url");
        }
        return new NotificationEndpoint(name ?? url, url, headers, timeout, disabled);
    }

    /// <summary>Go's duration text as distribution writes it: 500ms, 5s, 1m, 1h30m.</summary>
    private static TimeSpan? ParseGoDuration(string text)
    {
        var total = TimeSpan.Zero;
        var i = 0;
        if (text.Length == 0) return null;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
            if (!double.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)) return null;
            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i])) i++;
            var unit = text[unitStart..i];
            total += unit switch
            {
                "ns" => TimeSpan.FromTicks((long)(n / 100)),
                "us" or "µs" => TimeSpan.FromMicroseconds(n),
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                _ => TimeSpan.MinValue,
            };
            if (total < TimeSpan.Zero) return null;
        }
        return total;
    }

    private static YamlNode? Child(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static IEnumerable<(string Key, YamlNode Value)> Mapping(YamlNode node, string where)
    {
        if (node is YamlScalarNode { Value: null or "" }) yield break;
        if (node is not YamlMappingNode mapping) throw new Refused(node, $"\"{where}\" must be a section of keys");
        foreach (var (k, v) in mapping.Children) yield return ((k as YamlScalarNode)?.Value ?? throw new Refused(k, "a key must be a name"), v);
    }

    private static string Scalar(YamlNode node, string key) =>
        (node as YamlScalarNode)?.Value ?? throw new Refused(node, $"\"{key}\" must be a single value");
}
