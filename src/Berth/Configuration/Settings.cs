using System.Globalization;

namespace Berth.Configuration;

/// <summary>
/// One configuration key, declared once: where it is written in berth.yml (and under which older flat names), its
/// environment variable and flag, how it is parsed and checked, and what it means. The file reader, the environment and
/// flags, validation, <c>berth config keys</c> and the README's table are all derived from <see cref="Settings.All"/>.
/// </summary>
public sealed record Setting(string? Path, string? Env, string? Flag, string Description,
    Func<BerthOptions, string?> Show, Func<BerthOptions, string, (BerthOptions? Options, string? Error)> Apply)
{
    /// <summary>Flat names from before the sections, still read from files so that existing files keep working.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>The default in words, where it is not a value (derived from another key or from the request).</summary>
    public string? DefaultNote { get; init; }

    /// <summary>A flag without a value (<c>--open</c>).</summary>
    public bool IsSwitch { get; init; }

    /// <summary>The name errors and flags use: the YAML path, or the environment variable of an environment-only setting.</summary>
    public string Name => Path ?? Env!;

    public string Default => DefaultNote ?? (Show(new BerthOptions()) is { } v ? $"`{v}`" : "");
}

public static class Settings
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    public static IReadOnlyList<Setting> All { get; } =
    [
        Text("listen", "BERTH_LISTEN", "--listen", "address and port: `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` / `PORT` for every interface; HOST may be a name that resolves (all its addresses)",
            o => o.Listen, (o, v) => o with { Listen = v }, v => BerthOptions.ParseListen(v).Error is { } e ? $"\"{v}\": {e}" : null),
        Text("data", "BERTH_DATA", "--data", "the data directory: `berth.db`, the token key, and blobs and uploads unless `storage.filesystem.path` says otherwise",
            o => o.Data, (o, v) => o with { Data = v }, v => string.IsNullOrWhiteSpace(v) ? "must name a directory" : null),
        Duration("uploadExpiry", "BERTH_UPLOAD_EXPIRY", "idle upload sessions are removed after this (`30m`, `24h`, `7d`)",
            o => o.UploadExpiry, (o, v) => o with { UploadExpiry = v }, Minute),
        Number("maxManifestBytes", null, "larger manifests are refused with 413",
            o => o.MaxManifestBytes, (o, v) => o with { MaxManifestBytes = v }, 4096, 64 << 20),
        new("logLevel", "BERTH_LOG_LEVEL", null, "`Trace` ... `Critical`, `None`", o => o.LogLevel.ToString(), (o, v) =>
            Enum.TryParse<LogLevel>(v, ignoreCase: true, out var level) && Enum.IsDefined(level)
                ? (o with { LogLevel = level }, null)
                : (null, $"\"{v}\" is not one of {string.Join(", ", Enum.GetNames<LogLevel>())}")),
        Switch("accessLog", "BERTH_ACCESS_LOG", null, "one log line per request: method, path, status, duration, client",
            o => o.AccessLog, (o, v) => o with { AccessLog = v }),
        Switch("open", "BERTH_OPEN", "--open", "allow a non-loopback `listen` while no user exists (authentication off)",
            o => o.Open, (o, v) => o with { Open = v }),
        Text("tlsCert", "BERTH_TLS_CERT", "--tls-cert", "serve HTTPS with this PEM certificate (chain) file; with `tlsKey`",
            o => o.TlsCert, (o, v) => o with { TlsCert = v }),
        Text("tlsKey", "BERTH_TLS_KEY", "--tls-key", "the PEM private key of `tlsCert`",
            o => o.TlsKey, (o, v) => o with { TlsKey = v }),
        Text("publicUrl", "BERTH_PUBLIC_URL", null, "the URL clients reach Berth at (token realm)",
            o => o.PublicUrl, (o, v) => o with { PublicUrl = v.TrimEnd('/') },
            v => Uri.TryCreate(v, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" && u.PathAndQuery == "/"
                ? null : $"\"{v}\" is not a URL like https://registry.example.com") with { DefaultNote = "request's own" },
        Switch("trustProxy", "BERTH_TRUST_PROXY", null, "take the client address from `X-Forwarded-For`",
            o => o.TrustProxy, (o, v) => o with { TrustProxy = v }),
        Duration("retentionInterval", "BERTH_RETENTION_INTERVAL", "how often the `retention` job applies the retention policies (first at start-up)",
            o => o.RetentionInterval, (o, v) => o with { RetentionInterval = v }, Minute),
        Duration("scrubInterval", "BERTH_SCRUB_INTERVAL", "how often the `scrub` job re-hashes every blob (not at start-up)",
            o => o.ScrubInterval, (o, v) => o with { ScrubInterval = v }, Minute),
        Number("scrubParallelism", "BERTH_SCRUB_PARALLELISM", "blobs a scrub reads and hashes at once",
            o => o.ScrubParallelism, (o, v) => o with { ScrubParallelism = v }, 1, 64),

        OneOf("logFormat", "BERTH_LOG_FORMAT", "log lines as `text`, or `json` (one object a line, with the request id, repository and digest of the request that wrote it)", ObservabilityOptions.LogFormats,
            o => o.Observability.LogFormat, (o, v) => o with { Observability = o.Observability with { LogFormat = v } }),
        Text("metrics.listen", "BERTH_METRICS_LISTEN", null, "serve `GET /metrics` (Prometheus) on this address alone, to anyone who reaches it; without it, `/metrics` is on `listen` for site administrators and loopback clients",
            o => o.Observability.MetricsListen, (o, v) => o with { Observability = o.Observability with { MetricsListen = v } },
            v => BerthOptions.ParseListen(v) is var (points, e) && e is not null ? $"\"{v}\": {e}"
                : points!.Any(p => p.Port == 0) ? $"\"{v}\": give a port other than 0" : null),
        Number("webhooks.maxAttempts", "BERTH_WEBHOOK_MAX_ATTEMPTS", "attempts per webhook delivery before it is given up (failed)",
            o => o.Observability.WebhookMaxAttempts, (o, v) => o with { Observability = o.Observability with { WebhookMaxAttempts = v } }, 1, 100),
        Duration("webhooks.maxBackoff", "BERTH_WEBHOOK_MAX_BACKOFF", "the longest wait between attempts of a delivery (waits double from 1s up to this)",
            o => o.Observability.WebhookMaxBackoff, (o, v) => o with { Observability = o.Observability with { WebhookMaxBackoff = v } }, TimeSpan.FromSeconds(1)),

        OneOf("storage.type", "BERTH_STORAGE_TYPE", "where blobs and uploads are kept", StorageOptions.Types,
            o => o.Storage.Type, (o, v) => o with { Storage = o.Storage with { Type = v } }),
        Switch("storage.delete.enabled", "BERTH_DELETE_ENABLED", null, "`false`: deleting manifests, tags and blobs is refused with `UNSUPPORTED` (405), as distribution's key of that name does",
            o => o.Storage.DeleteEnabled, (o, v) => o with { Storage = o.Storage with { DeleteEnabled = v } }),
        Text("storage.filesystem.path", "BERTH_STORAGE_PATH", null, "the directory of `blobs/` and `uploads/` (filesystem storage)",
            o => o.Storage.FileSystem.Path, (o, v) => o with { Storage = o.Storage with { FileSystem = o.Storage.FileSystem with { Path = v } } },
            v => string.IsNullOrWhiteSpace(v) ? "must name a directory" : null) with { DefaultNote = "`data`" },
        Text("storage.s3.endpoint", "BERTH_S3_ENDPOINT", null, "the S3 service URL, e.g. `http://127.0.0.1:7480` (radosgw)",
            o => o.Storage.S3.Endpoint, (o, v) => o with { Storage = o.Storage with { S3 = o.Storage.S3 with { Endpoint = v.TrimEnd('/') } } },
            v => Uri.TryCreate(v, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? null : $"\"{v}\" is not an http or https URL"),
        Text("storage.s3.bucket", "BERTH_S3_BUCKET", null, "the bucket of `blobs/` and `uploads/` (it must exist)",
            o => o.Storage.S3.Bucket, (o, v) => o with { Storage = o.Storage with { S3 = o.Storage.S3 with { Bucket = v } } },
            v => v.Length is >= 3 and <= 63 && v.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.') ? null : $"\"{v}\" is not a bucket name (3 to 63 of a-z, 0-9, '-', '.')"),
        Text("storage.s3.region", "BERTH_S3_REGION", null, "the region requests are signed for",
            o => o.Storage.S3.Region, (o, v) => o with { Storage = o.Storage with { S3 = o.Storage.S3 with { Region = v } } },
            v => string.IsNullOrWhiteSpace(v) ? "must name a region" : null),
        Text("storage.s3.accessKey", "BERTH_S3_ACCESS_KEY", null, "the S3 access key id",
            o => o.Storage.S3.AccessKey, (o, v) => o with { Storage = o.Storage with { S3 = o.Storage.S3 with { AccessKey = v } } }),
        Text("storage.s3.secretKey", "BERTH_S3_SECRET_KEY", null, "the S3 secret key; never logged",
            _ => null, (o, v) => o with { Storage = o.Storage with { S3 = o.Storage.S3 with { SecretKey = v } } }),
        Switch("storage.s3.forcePathStyle", "BERTH_S3_FORCE_PATH_STYLE", null, "address the bucket in the path (`http://host/bucket/key`: radosgw, MinIO) rather than in the host name",
            o => o.Storage.S3.ForcePathStyle, (o, v) => o with { Storage = o.Storage with { S3 = o.Storage.S3 with { ForcePathStyle = v } } }),
        Switch("storage.s3.redirect", "BERTH_S3_REDIRECT", null, "blob GETs answer 307 to a pre-signed URL of the object (valid 5 minutes) instead of streaming it",
            o => o.Storage.S3.Redirect, (o, v) => o with { Storage = o.Storage with { S3 = o.Storage.S3 with { Redirect = v } } }),
        OneOf("metadata.type", "BERTH_METADATA_TYPE", "where repositories, manifests, accounts and the audit log are kept: `data/berth.db`, or a PostgreSQL database nodes share", MetadataOptions.Types,
            o => o.Metadata.Type, (o, v) => o with { Metadata = o.Metadata with { Type = v } }),
        Text("metadata.postgres.connectionString", "BERTH_POSTGRES", null,
            "the PostgreSQL database (`metadata.type: postgres`), as `Host=HOST;Port=5432;Database=berth;Username=berth;Password=...`; its schema is created or upgraded at start; never logged",
            o => o.Metadata.Postgres.ConnectionString, (o, v) => o with { Metadata = o.Metadata with { Postgres = o.Metadata.Postgres with { ConnectionString = v } } },
            PostgresConnectionError),

        Text("auth.tokenKey", "BERTH_TOKEN_KEY", null, "a PEM file with the ES256 key that signs tokens, created on first start; without it the key is kept by the metadata backend (the data directory, or the PostgreSQL database every node shares)",
            o => o.Auth.TokenKey, (o, v) => o with { Auth = o.Auth with { TokenKey = v } }) with { Aliases = ["tokenKey"], DefaultNote = "`data/token-key.pem` or the database" },
        Duration("auth.tokenLifetime", "BERTH_TOKEN_LIFETIME", "lifetime of bearer tokens",
            o => o.Auth.TokenLifetime, (o, v) => o with { Auth = o.Auth with { TokenLifetime = v } }, TimeSpan.FromSeconds(30)) with { Aliases = ["tokenLifetime"] },
        Number("auth.pullLimit.anonymous", "BERTH_PULL_LIMIT_ANONYMOUS", "pulls per window per client address, anonymous; `0` is off",
            o => o.Auth.PullLimitAnonymous, (o, v) => o with { Auth = o.Auth with { PullLimitAnonymous = v } }, 0) with { Aliases = ["pullLimitAnonymous"] },
        Number("auth.pullLimit.signedIn", "BERTH_PULL_LIMIT_SIGNED_IN", "pulls per window per account; `0` is off",
            o => o.Auth.PullLimitSignedIn, (o, v) => o with { Auth = o.Auth with { PullLimitSignedIn = v } }, 0) with { Aliases = ["pullLimitSignedIn"] },
        Duration("auth.pullLimit.window", "BERTH_PULL_LIMIT_WINDOW", "the window of both pull limits",
            o => o.Auth.PullLimitWindow, (o, v) => o with { Auth = o.Auth with { PullLimitWindow = v } }, TimeSpan.FromSeconds(1)) with { Aliases = ["pullLimitWindow"] },
        Number("auth.login.maxFailures", "BERTH_LOGIN_MAX_FAILURES", "failed password sign-ins (per account and address) before a lockout; each failure is answered 100 ms slower",
            o => o.Auth.LoginMaxFailures, (o, v) => o with { Auth = o.Auth with { LoginMaxFailures = v } }, 1) with { Aliases = ["loginMaxFailures"] },
        Duration("auth.login.lockout", "BERTH_LOGIN_LOCKOUT", "how long the lockout lasts",
            o => o.Auth.LoginLockout, (o, v) => o with { Auth = o.Auth with { LoginLockout = v } }, TimeSpan.FromSeconds(1)) with { Aliases = ["loginLockout"] },
        Text("auth.htpasswd", "BERTH_HTPASSWD", null, "an htpasswd file of bcrypt entries (`htpasswd -B`; distribution's `auth.htpasswd.path`): its users are created or updated at start as site administrators, keeping their bcrypt hashes",
            o => o.Auth.Htpasswd, (o, v) => o with { Auth = o.Auth with { Htpasswd = v } }),
        Text("gc.schedule", "BERTH_GC_SCHEDULE", null, "when garbage collection runs: a cron expression (UTC), or `off`",
            o => o.Gc.Schedule, (o, v) => o with { Gc = o.Gc with { Schedule = v } }, GcSettings.ScheduleError),
        new("gc.grace", "BERTH_GC_GRACE", null, "links, blobs and files younger than this are kept by garbage collection (`0s` allowed)", o => FormatDuration(o.Gc.Grace), (o, v) =>
            ConfigLoader.TryParseDuration(v, out var d) ? (o with { Gc = o.Gc with { Grace = d } }, null) : (null, $"\"{v}\" is not a duration (for example 0s, 30m, 1h)")),
        Text("gc.untagged", "BERTH_GC_UNTAGGED", null, "untagged manifests: `keep`, `delete` (once older than `gc.grace`), or a duration (delete once older than it)",
            o => o.Gc.Untagged, (o, v) => o with { Gc = o.Gc with { Untagged = v } },
            v => v is "keep" or "delete" || ConfigLoader.TryParseDuration(v, out _) ? null : $"\"{v}\" is not keep, delete or a duration"),
        Text(null, "BERTH_ADMIN_PASSWORD", null, "creates user `admin` (site administrator) or resets its password at start; never logged",
            o => o.Auth.AdminPassword, (o, v) => o with { Auth = o.Auth with { AdminPassword = v } },
            v => v.Length < Core.Access.AccountRules.MinPasswordLength ? $"needs at least {Core.Access.AccountRules.MinPasswordLength} characters" : null),
    ];

    /// <summary>Checks that involve more than one key, run on the options the keys built.</summary>
    public static IEnumerable<string> CrossCheck(BerthOptions o)
    {
        if ((o.TlsCert is null) != (o.TlsKey is null)) yield return "tlsCert, tlsKey: give both the certificate and its key, or neither";
        if (o.Metadata.Type == MetadataOptions.PostgresType && o.Metadata.Postgres.ConnectionString is null)
        {
            yield return "metadata.postgres.connectionString: metadata.type is postgres; give the database's connection string (or BERTH_POSTGRES)";
        }
        if (o.Storage.Type == StorageOptions.S3Type)
        {
            var s3 = o.Storage.S3;
            var missing = new[] { ("storage.s3.endpoint", s3.Endpoint), ("storage.s3.bucket", s3.Bucket), ("storage.s3.accessKey", s3.AccessKey), ("storage.s3.secretKey", s3.SecretKey) }
                .Where(k => string.IsNullOrEmpty(k.Item2)).Select(k => k.Item1).ToList();
            if (missing.Count > 0) yield return $"{string.Join(", ", missing)}: needed with storage.type s3";
        }
    }

    /// <summary>The configuration table of the README, one row a key: what <c>berth config keys</c> prints.</summary>
    public static IEnumerable<string> MarkdownTable()
    {
        yield return "| key in berth.yml | environment | flag | default | meaning |";
        yield return "|---|---|---|---|---|";
        foreach (var s in All)
        {
            var key = s.Path is null ? "" : $"`{s.Path}`" + (s.Aliases.Count > 0 ? $" (or {string.Join(", ", s.Aliases.Select(a => $"`{a}`"))})" : "");
            yield return $"| {key} | {Code(s.Env)} | {Code(s.Flag)} | {s.Default} | {s.Description} |";
        }
    }

    /// <summary>Why a connection string cannot be used, without repeating it (it may hold a password).</summary>
    private static string? PostgresConnectionError(string value)
    {
        try
        {
            var b = new Npgsql.NpgsqlConnectionStringBuilder(value);
            return string.IsNullOrEmpty(b.Host) ? "names no Host" : null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            return $"is not a connection string ({e.Message.Split('(')[0].Trim()})";
        }
    }

    private static string Code(string? text) => text is null ? "" : $"`{text}`";

    private static Setting Text(string? path, string env, string? flag, string description, Func<BerthOptions, string?> get,
        Func<BerthOptions, string, BerthOptions> set, Func<string, string?>? check = null) =>
        new(path, env, flag, description, get, (o, v) => check?.Invoke(v) is { } error ? (null, error) : (set(o, v), null));

    private static Setting Switch(string path, string env, string? flag, string description, Func<BerthOptions, bool> get, Func<BerthOptions, bool, BerthOptions> set) =>
        new(path, env, flag, description, o => get(o) ? "true" : "false",
            (o, v) => bool.TryParse(v, out var b) ? (set(o, b), null) : (null, $"\"{v}\" is not true or false")) { IsSwitch = flag is not null };

    private static Setting Number(string path, string? env, string description, Func<BerthOptions, int> get, Func<BerthOptions, int, BerthOptions> set,
        int minimum, int maximum = int.MaxValue) =>
        new(path, env, null, description, o => get(o).ToString(CultureInfo.InvariantCulture), (o, v) =>
            !int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? (null, $"\"{v}\" is not a whole number")
            : n < minimum || n > maximum ? (null, maximum == int.MaxValue ? $"must be at least {minimum}" : $"must be between {minimum} and {maximum}")
            : (set(o, n), null));

    private static Setting Duration(string path, string env, string description, Func<BerthOptions, TimeSpan> get,
        Func<BerthOptions, TimeSpan, BerthOptions> set, TimeSpan minimum) =>
        new(path, env, null, description, o => FormatDuration(get(o)), (o, v) =>
            ConfigLoader.TryParseDuration(v, out var d) && d >= minimum
                ? (set(o, d), null)
                : (null, $"\"{v}\" is not a duration of at least {FormatDuration(minimum)} (for example 30s, 5m, 6h, 1d)"));

    private static Setting OneOf(string path, string env, string description, IReadOnlyList<string> names, Func<BerthOptions, string> get,
        Func<BerthOptions, string, BerthOptions> set) =>
        new(path, env, null, $"{description}: {string.Join(", ", names.Select(n => $"`{n}`"))}", get, (o, v) =>
            names.Contains(v) ? (set(o, v), null) : (null, $"\"{v}\" is not one of {string.Join(", ", names)}"));

    /// <summary>"90s", "30m", "24h": the largest unit up to hours that says it exactly.</summary>
    public static string FormatDuration(TimeSpan d) =>
        d.Ticks % TimeSpan.TicksPerHour == 0 ? $"{(long)d.TotalHours}h"
        : d.Ticks % TimeSpan.TicksPerMinute == 0 ? $"{(long)d.TotalMinutes}m"
        : $"{d.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";
}
