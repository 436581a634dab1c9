using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Berth.Configuration;

/// <summary>
/// Builds <see cref="BerthOptions"/> from, in rising precedence: defaults, a YAML file (berth.yml), BERTH_*
/// environment variables, command-line flags; every key as <see cref="Settings.All"/> declares it. Unknown keys in the
/// file are errors with their line, so typos surface.
/// </summary>
public static class ConfigLoader
{
    /// <summary>The configuration file: the flag, else BERTH_CONFIG, else ./berth.yml when present, else none (defaults).</summary>
    public static string? ResolveFile(string? flag, Func<string, string?> env) =>
        flag ?? env("BERTH_CONFIG") ?? (File.Exists("berth.yml") ? "berth.yml" : null);

    private sealed class ConfigException(YamlNode node, string message) : Exception($"line {node.Start.Line}: {message}");

    private sealed record FileValue(string Value, string WrittenAs, YamlNode Node);

    private static readonly Dictionary<string, Setting> ByFileName = Settings.All
        .Where(s => s.Path is not null)
        .SelectMany(s => s.Aliases.Prepend(s.Path!).Select(name => (name, s)))
        .ToDictionary(p => p.name, p => p.s, StringComparer.Ordinal);

    /// <summary>"auth", "auth.pullLimit", ...: the mappings a file may hold.</summary>
    private static readonly HashSet<string> Sections = Settings.All
        .Where(s => s.Path is not null)
        .SelectMany(s => Enumerable.Range(1, s.Path!.Count(c => c == '.')).Select(n => string.Join('.', s.Path!.Split('.')[..n])))
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>The file's values by setting path. Read from the YAML node tree (no reflection, so the binary trims).</summary>
    private static Dictionary<string, FileValue> ReadFile(string file, out DistributionConfig.Result? distribution)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(file)) stream.Load(reader);
        var values = new Dictionary<string, FileValue>(StringComparer.Ordinal);
        distribution = null;
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" }) return values;
        if (stream.Documents[0].RootNode is not YamlMappingNode root) throw new ConfigException(stream.Documents[0].RootNode, "the file must be a mapping of keys to values");
        if (DistributionConfig.Matches(root))
        {
            distribution = DistributionConfig.Translate(root);
            foreach (var (path, value, writtenAs, node) in distribution.Values) values[path] = new FileValue(value, writtenAs, node);
            return values;
        }
        Read(root, "", values);
        return values;
    }

    private static void Read(YamlMappingNode mapping, string prefix, Dictionary<string, FileValue> values)
    {
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = prefix + ((keyNode as YamlScalarNode)?.Value ?? throw new ConfigException(keyNode, "a key must be a name"));
            if (ByFileName.TryGetValue(key, out var setting))
            {
                if (valueNode is not YamlScalarNode scalar) throw new ConfigException(valueNode, $"\"{key}\" must be a single value");
                if (values.TryGetValue(setting.Path!, out var earlier))
                {
                    throw new ConfigException(keyNode, $"\"{key}\" is given twice (also as \"{earlier.WrittenAs}\" on line {earlier.Node.Start.Line})");
                }
                values[setting.Path!] = new FileValue(scalar.Value ?? "", key, keyNode);
            }
            else if (Sections.Contains(key))
            {
                if (valueNode is YamlMappingNode section) Read(section, key + ".", values);
                else if (valueNode is not YamlScalarNode { Value: null or "" }) throw new ConfigException(valueNode, $"\"{key}\" must be a section of keys");
            }
            else
            {
                throw new ConfigException(keyNode, $"unknown key \"{key}\"");
            }
        }
    }

    /// <param name="flags">Values given as flags, by <see cref="Setting.Name"/>; a switch given is "true".</param>
    public static (BerthOptions? Options, IReadOnlyList<string> Errors) Load(string? file, Func<string, string?> env, IReadOnlyDictionary<string, string>? flags = null)
    {
        var values = new Dictionary<string, FileValue>();
        DistributionConfig.Result? distribution = null;
        if (file is not null)
        {
            try
            {
                values = ReadFile(file, out distribution);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, [$"cannot read the file: {e.Message}"]);
            }
            catch (ConfigException e)
            {
                return (null, [e.Message]);
            }
            catch (DistributionConfig.Refused e)
            {
                return (null, [e.Message]);
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                return (null, [$"line {e.Start.Line}: {(e.InnerException ?? e).Message}"]);
            }
        }

        var errors = new List<string>();
        var options = new BerthOptions();
        foreach (var setting in Settings.All)
        {
            string? text = null, name = setting.Name;
            if (flags?.TryGetValue(setting.Name, out var flag) == true) text = flag;
            else if (setting.Env is { } variable && env(variable) is { } fromEnv) text = fromEnv;
            else if (setting.Path is { } path && values.TryGetValue(path, out var fromFile)) (text, name) = (fromFile.Value, fromFile.WrittenAs);
            if (text is null) continue;
            var (applied, error) = setting.Apply(options, text);
            if (applied is not null) options = applied;
            else errors.Add($"{name}: {error}");
        }
        if (distribution is not null)
        {
            options = options with
            {
                Warnings = [.. distribution.Warnings, .. distribution.Endpoints.Where(e => !e.Disabled && e.Headers.Count > 0)
                    .Select(e => $"notifications.endpoints {e.Name}: its headers are not sent (Berth signs deliveries with X-Berth-Signature instead)")],
                NotificationEndpoints = distribution.Endpoints,
                Observability = options.Observability with
                {
                    Webhooks = [.. options.Observability.Webhooks, .. distribution.Endpoints.Where(e => !e.Disabled).Select(ConfiguredWebhook.FromNotification)],
                },
            };
        }
        errors.AddRange(Settings.CrossCheck(options));
        return errors.Count > 0 ? (null, errors) : (options, errors);
    }

    public static IReadOnlyList<string> CheckFiles(BerthOptions options)
    {
        if (options.TlsCert is not { } cert || options.TlsKey is not { } key) return [];
        var errors = new List<string>();
        var certText = ReadText(cert, "tlsCert", errors);
        var keyText = ReadText(key, "tlsKey", errors);
        if (certText is null || keyText is null) return errors;
        try
        {
            using var _ = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(certText);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return [$"tlsCert: {cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"];
        }
        try
        {
            using var _ = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(certText, keyText);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return [$"tlsKey: {key} holds no PEM private key that matches the certificate in {cert}"];
        }
        return [];
    }

    private static string? ReadText(string path, string key, List<string> errors)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add($"{key}: cannot read {path}: {Describe(e)}");
            return null;
        }
    }

    /// <summary>The cause of a file error in a few words, without the path .NET puts in its messages.</summary>
    public static string Describe(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };

    /// <summary>"90s", "30m", "24h", "7d".</summary>
    public static bool TryParseDuration(string text, out TimeSpan value) => Core.Access.AccountRules.TryParseDuration(text, out value);
}
