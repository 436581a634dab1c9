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

    /// <summary>Serve a non-loopback address although no user exists (so authentication is off): an explicit choice.</summary>
    public bool Open { get; init; }

    /// <summary>HTTPS: PEM certificate (chain) and private key files. Both or neither.</summary>
    public string? TlsCert { get; init; }
    public string? TlsKey { get; init; }

    /// <summary>The URL clients reach Berth at (behind a reverse proxy); the token realm is built from it. Default: the request's own.</summary>
    public string? PublicUrl { get; init; }

    /// <summary>Behind a reverse proxy: take the client address from X-Forwarded-For (the proxy must overwrite it).</summary>
    public bool TrustProxy { get; init; }

    /// <summary>The ES256 key that signs bearer tokens; created on first start. Nodes of one deployment share it.</summary>
    public string? TokenKey { get; init; }
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Pulls (manifest GETs) allowed per window: per address for anonymous callers, per account when signed in. 0 is unlimited.</summary>
    public int PullLimitAnonymous { get; init; }
    public int PullLimitSignedIn { get; init; }
    public TimeSpan PullLimitWindow { get; init; } = TimeSpan.FromHours(6);

    /// <summary>Failed sign-ins for one account from one address before that pair is locked out for <see cref="LoginLockout"/>.</summary>
    public int LoginMaxFailures { get; init; } = 5;
    public TimeSpan LoginLockout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>From BERTH_ADMIN_PASSWORD only: creates or resets the user "admin" at start. Never logged.</summary>
    public string? AdminPassword { get; init; }

    /// <summary>The addresses <see cref="Listen"/> names (a host name may resolve to several); resolved again at each call.</summary>
    public IReadOnlyList<IPEndPoint> ListenEndPoints() => ParseListen(Listen).EndPoints ?? throw new InvalidOperationException("unvalidated options");

    /// <summary>
    /// HOST:PORT, [IPv6]:PORT, :PORT or PORT (every interface). HOST is an address or a name that resolves (localhost is
    /// 127.0.0.1). Port 0 asks the system for a free port (tests); the log line reports the real one.
    /// </summary>
    internal static (IReadOnlyList<IPEndPoint>? EndPoints, string? Error) ParseListen(string value)
    {
        var v = value.Trim();
        string host, portText;
        if (v.All(char.IsAsciiDigit))
        {
            (host, portText) = ("", v);
        }
        else if (v.StartsWith('['))
        {
            var close = v.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0) return (null, "an IPv6 address is written [ADDRESS]:PORT, for example [::1]:5000");
            (host, portText) = (v[1..close], v[(close + 2)..]);
        }
        else
        {
            var colon = v.LastIndexOf(':');
            if (colon < 0) return (null, "is not HOST:PORT, :PORT or PORT (for example 127.0.0.1:5000)");
            (host, portText) = (v[..colon], v[(colon + 1)..]);
            if (host.Contains(':')) return (null, "an IPv6 address is written [ADDRESS]:PORT, for example [::1]:5000");
        }
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > IPEndPoint.MaxPort)
        {
            return (null, $"port \"{portText}\" is not a number from 1 to 65535");
        }
        if (host.Length == 0) return ([new IPEndPoint(IPAddress.Any, port)], null);
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return ([new IPEndPoint(IPAddress.Loopback, port)], null);
        if (IPAddress.TryParse(host, out var address)) return ([new IPEndPoint(address, port)], null);
        try
        {
            var addresses = Dns.GetHostAddresses(host);
            return addresses.Length > 0
                ? (addresses.Distinct().Select(a => new IPEndPoint(a, port)).ToList(), null)
                : (null, $"host name \"{host}\" resolves to no address");
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return (null, $"cannot resolve host name \"{host}\": {e.Message}");
        }
        catch (ArgumentException)
        {
            return (null, $"\"{host}\" is not a host name or address");
        }
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
        public string? TlsCert;
        public string? TlsKey;
        public string? PublicUrl;
        public string? TrustProxy;
        public string? TokenKey;
        public string? TokenLifetime;
        public string? PullLimitAnonymous;
        public string? PullLimitSignedIn;
        public string? PullLimitWindow;
        public string? LoginMaxFailures;
        public string? LoginLockout;
    }

    public sealed record Overrides(string? Listen = null, string? Data = null, bool Open = false, string? TlsCert = null, string? TlsKey = null);

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
                case "tlsCert": model.TlsCert = value; break;
                case "tlsKey": model.TlsKey = value; break;
                case "publicUrl": model.PublicUrl = value; break;
                case "trustProxy": model.TrustProxy = value; break;
                case "tokenKey": model.TokenKey = value; break;
                case "tokenLifetime": model.TokenLifetime = value; break;
                case "pullLimitAnonymous": model.PullLimitAnonymous = value; break;
                case "pullLimitSignedIn": model.PullLimitSignedIn = value; break;
                case "pullLimitWindow": model.PullLimitWindow = value; break;
                case "loginMaxFailures": model.LoginMaxFailures = value; break;
                case "loginLockout": model.LoginLockout = value; break;
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
        if (BerthOptions.ParseListen(listen).Error is { } listenError) errors.Add($"listen: \"{listen}\": {listenError}");
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

        var tlsCert = flags.TlsCert ?? env("BERTH_TLS_CERT") ?? model.TlsCert;
        var tlsKey = flags.TlsKey ?? env("BERTH_TLS_KEY") ?? model.TlsKey;
        if ((tlsCert is null) != (tlsKey is null)) errors.Add("tlsCert, tlsKey: give both the certificate and its key, or neither");
        var publicUrl = env("BERTH_PUBLIC_URL") ?? model.PublicUrl;
        if (publicUrl is not null && (!Uri.TryCreate(publicUrl, UriKind.Absolute, out var pu) || pu.Scheme is not ("http" or "https") || pu.PathAndQuery != "/"))
        {
            errors.Add($"publicUrl: \"{publicUrl}\" is not a URL like https://registry.example.com");
        }
        var trustProxy = Bool(env("BERTH_TRUST_PROXY") ?? model.TrustProxy, "trustProxy", errors);
        var tokenLifetime = Duration(env("BERTH_TOKEN_LIFETIME") ?? model.TokenLifetime, "tokenLifetime", defaults.TokenLifetime, TimeSpan.FromSeconds(30), errors);
        var pullWindow = Duration(env("BERTH_PULL_LIMIT_WINDOW") ?? model.PullLimitWindow, "pullLimitWindow", defaults.PullLimitWindow, TimeSpan.FromSeconds(1), errors);
        var lockout = Duration(env("BERTH_LOGIN_LOCKOUT") ?? model.LoginLockout, "loginLockout", defaults.LoginLockout, TimeSpan.FromSeconds(1), errors);
        var pullAnonymous = Count(env("BERTH_PULL_LIMIT_ANONYMOUS") ?? model.PullLimitAnonymous, "pullLimitAnonymous", 0, errors);
        var pullSignedIn = Count(env("BERTH_PULL_LIMIT_SIGNED_IN") ?? model.PullLimitSignedIn, "pullLimitSignedIn", 0, errors);
        var maxFailures = Count(env("BERTH_LOGIN_MAX_FAILURES") ?? model.LoginMaxFailures, "loginMaxFailures", defaults.LoginMaxFailures, errors);
        if (maxFailures < 1) errors.Add("loginMaxFailures: must be at least 1");
        var adminPassword = env("BERTH_ADMIN_PASSWORD");
        if (adminPassword is { Length: < Core.Access.AccountRules.MinPasswordLength })
        {
            errors.Add($"BERTH_ADMIN_PASSWORD: needs at least {Core.Access.AccountRules.MinPasswordLength} characters");
        }

        return errors.Count > 0
            ? (null, errors)
            : (new BerthOptions
            {
                Listen = listen, Data = data, UploadExpiry = expiry, MaxManifestBytes = maxManifest, LogLevel = logLevel, AccessLog = accessLog, Open = open,
                TlsCert = tlsCert, TlsKey = tlsKey, PublicUrl = publicUrl?.TrimEnd('/'), TrustProxy = trustProxy,
                TokenKey = env("BERTH_TOKEN_KEY") ?? model.TokenKey, TokenLifetime = tokenLifetime,
                PullLimitAnonymous = pullAnonymous, PullLimitSignedIn = pullSignedIn, PullLimitWindow = pullWindow,
                LoginMaxFailures = maxFailures, LoginLockout = lockout, AdminPassword = adminPassword,
            }, errors);
    }

    /// <summary>What the configuration names on disk and must be usable at start: the TLS certificate and key, read and parsed.</summary>
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

    private static bool Bool(string? text, string key, List<string> errors)
    {
        if (text is null) return false;
        if (bool.TryParse(text, out var value)) return value;
        errors.Add($"{key}: \"{text}\" is not true or false");
        return false;
    }

    private static TimeSpan Duration(string? text, string key, TimeSpan fallback, TimeSpan minimum, List<string> errors)
    {
        if (text is null) return fallback;
        if (TryParseDuration(text, out var value) && value >= minimum) return value;
        errors.Add($"{key}: \"{text}\" is not a duration of at least {minimum.TotalSeconds}s (for example 30s, 5m, 6h, 1d)");
        return fallback;
    }

    private static int Count(string? text, string key, int fallback, List<string> errors)
    {
        if (text is null) return fallback;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return value;
        errors.Add($"{key}: \"{text}\" is not a whole number");
        return fallback;
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
