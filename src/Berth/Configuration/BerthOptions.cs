using System.Globalization;
using System.Net;
using YamlDotNet.RepresentationModel;

namespace Berth.Configuration;

/// <summary>Validated configuration. Every option has a safe default, so <c>berth serve</c> needs no file.</summary>
public sealed record BerthOptions
{
    public string Listen { get; init; } = "127.0.0.1:5000";
    public string Data { get; init; } = "./data";
    public TimeSpan UploadExpiry { get; init; } = TimeSpan.FromHours(24);
    public int MaxManifestBytes { get; init; } = Core.Manifest.DefaultMaxSize;
    public LogLevel LogLevel { get; init; } = LogLevel.Information;
    public bool AccessLog { get; init; }

    /// <summary>Serve a non-loopback address although there is no authentication: an explicit choice.</summary>
    public bool Open { get; init; }

    public IPEndPoint ListenEndPoint => ParseEndPoint(Listen) ?? throw new InvalidOperationException("unvalidated options");

    internal static IPEndPoint? ParseEndPoint(string value)
    {
        var v = value.Trim();
        if (v.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)) v = "127.0.0.1" + v[9..];
        if (v.StartsWith(':')) v = "0.0.0.0" + v;
        // Port 0 asks the system for a free port (tests); the log line reports the real one.
        return IPEndPoint.TryParse(v, out var ep) ? ep : null;
    }
}

/// <summary>
/// Builds <see cref="BerthOptions"/> from, in rising precedence: defaults, a YAML file (berth.yml),
/// BERTH_* environment variables, command-line flags. Unknown keys in the file are errors, so typos surface.
/// </summary>
public static class ConfigLoader
{
    /// <summary>The file's keys, every one optional. Read from the YAML node tree (no reflection, so the binary trims).</summary>
    private sealed class FileModel
    {
        public string? Listen;
        public string? Data;
        public string? UploadExpiry;
        public string? MaxManifestBytes;
        public string? LogLevel;
        public string? AccessLog;
        public string? Open;
    }

    public sealed record Overrides(string? Listen = null, string? Data = null, bool Open = false);

    private static FileModel ReadFile(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(file)) stream.Load(reader);
        var model = new FileModel();
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" }) return model;
        if (stream.Documents[0].RootNode is not YamlMappingNode root) throw new ConfigException(stream.Documents[0].RootNode, "the file must be a mapping of keys to values");
        foreach (var (keyNode, valueNode) in root.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? "";
            var value = valueNode is YamlScalarNode scalar ? scalar.Value : throw new ConfigException(valueNode, $"\"{key}\" must be a single value");
            switch (key)
            {
                case "listen": model.Listen = value; break;
                case "data": model.Data = value; break;
                case "uploadExpiry": model.UploadExpiry = value; break;
                case "maxManifestBytes": model.MaxManifestBytes = value; break;
                case "logLevel": model.LogLevel = value; break;
                case "accessLog": model.AccessLog = value; break;
                case "open": model.Open = value; break;
                default: throw new ConfigException(keyNode, $"unknown key \"{key}\"");
            }
        }
        return model;
    }

    private sealed class ConfigException(YamlNode node, string message) : Exception($"line {node.Start.Line}: {message}");

    public static (BerthOptions? Options, IReadOnlyList<string> Errors) Load(string? file, Func<string, string?> env, Overrides flags)
    {
        var errors = new List<string>();
        var model = new FileModel();
        if (file is not null)
        {
            try
            {
                model = ReadFile(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, [$"cannot read the file: {e.Message}"]);
            }
            catch (ConfigException e)
            {
                return (null, [e.Message]);
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                return (null, [$"line {e.Start.Line}: {(e.InnerException ?? e).Message}"]);
            }
        }

        var defaults = new BerthOptions();
        var listen = flags.Listen ?? env("BERTH_LISTEN") ?? model.Listen ?? defaults.Listen;
        var data = flags.Data ?? env("BERTH_DATA") ?? model.Data ?? defaults.Data;
        var expiryText = env("BERTH_UPLOAD_EXPIRY") ?? model.UploadExpiry;
        var logText = env("BERTH_LOG_LEVEL") ?? model.LogLevel;
        var maxManifest = defaults.MaxManifestBytes;
        if (model.MaxManifestBytes is { } maxText && !int.TryParse(maxText, out maxManifest)) errors.Add($"maxManifestBytes: \"{maxText}\" is not a number");
        var accessLogText = env("BERTH_ACCESS_LOG") ?? model.AccessLog;
        var accessLog = false;
        if (accessLogText is not null && !bool.TryParse(accessLogText, out accessLog)) errors.Add($"accessLog: \"{accessLogText}\" is not true or false");
        var openText = env("BERTH_OPEN") ?? model.Open;
        var open = flags.Open;
        if (!open && openText is not null && !bool.TryParse(openText, out open)) errors.Add($"open: \"{openText}\" is not true or false");
        // Security by default: with no authentication yet, anyone who reaches the port may push and pull.
        if (BerthOptions.ParseEndPoint(listen) is { } endPoint && !IPAddress.IsLoopback(endPoint.Address) && !open)
        {
            errors.Add($"listen: {listen} is reachable from other machines and Berth has no authentication yet, so anyone could push and pull; pass --open (open: true, BERTH_OPEN=true) to serve it anyway");
        }

        if (BerthOptions.ParseEndPoint(listen) is null) errors.Add($"listen: \"{listen}\" is not HOST:PORT (for example 127.0.0.1:5000)");
        if (string.IsNullOrWhiteSpace(data)) errors.Add("data: must name a directory");
        var expiry = defaults.UploadExpiry;
        if (expiryText is not null && (!TryParseDuration(expiryText, out expiry) || expiry < TimeSpan.FromMinutes(1)))
        {
            errors.Add($"uploadExpiry: \"{expiryText}\" is not a duration of at least 1m (for example 30m, 24h, 7d)");
        }
        var logLevel = defaults.LogLevel;
        if (logText is not null && !Enum.TryParse(logText, ignoreCase: true, out logLevel))
        {
            errors.Add($"logLevel: \"{logText}\" is not one of {string.Join(", ", Enum.GetNames<LogLevel>())}");
        }
        if (maxManifest < 4096 || maxManifest > 64 << 20) errors.Add("maxManifestBytes: must be between 4096 and 67108864");

        return errors.Count > 0
            ? (null, errors)
            : (new BerthOptions { Listen = listen, Data = data, UploadExpiry = expiry, MaxManifestBytes = maxManifest, LogLevel = logLevel, AccessLog = accessLog, Open = open }, errors);
    }

    /// <summary>"90s", "30m", "24h", "7d".</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        var t = text.Trim();
        if (t.Length < 2 || !double.TryParse(t[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0) return false;
        value = t[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => TimeSpan.MinValue,
        };
        return value != TimeSpan.MinValue;
    }
}
