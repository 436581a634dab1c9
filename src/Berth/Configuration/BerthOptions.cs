using System.Globalization;
using System.Net;

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

    /// <summary>Observability: the log line format, metrics and webhook delivery (docs/architecture.md, "Observability").</summary>
    public ObservabilityOptions Observability { get; init; } = new();

    /// <summary>Serve a non-loopback address although no user exists (so authentication is off): an explicit choice.</summary>
    public bool Open { get; init; }

    /// <summary>HTTPS: PEM certificate (chain) and private key files. Both or neither.</summary>
    public string? TlsCert { get; init; }
    public string? TlsKey { get; init; }

    /// <summary>The URL clients reach Berth at (behind a reverse proxy); the token realm is built from it. Default: the request's own.</summary>
    public string? PublicUrl { get; init; }

    /// <summary>Behind a reverse proxy: take the client address from X-Forwarded-For (the proxy must overwrite it).</summary>
    public bool TrustProxy { get; init; }

    /// <summary>Policies and integrity (docs/architecture.md, "Policies"): the periods of the retention and scrub jobs.</summary>
    public TimeSpan RetentionInterval { get; init; } = TimeSpan.FromHours(1);
    public TimeSpan ScrubInterval { get; init; } = TimeSpan.FromDays(7);
    public int ScrubParallelism { get; init; } = 2;

    public StorageOptions Storage { get; init; } = new();
    public MetadataOptions Metadata { get; init; } = new();
    public AuthOptions Auth { get; init; } = new();
    public GcSettings Gc { get; init; } = new();

    /// <summary>What reading the file noticed and did not refuse (a distribution configuration's ignored keys), logged at start.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>A distribution configuration's notifications.endpoints, as read (webhooks are built from them).</summary>
    public IReadOnlyList<NotificationEndpoint> NotificationEndpoints { get; init; } = [];

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

/// <summary>Where blobs and uploads are kept (<c>storage:</c>).</summary>
public sealed record StorageOptions
{
    public const string FileSystemType = "filesystem";
    public const string S3Type = "s3";
    public static readonly IReadOnlyList<string> Types = [FileSystemType, S3Type];

    public string Type { get; init; } = FileSystemType;

    /// <summary>False: DELETE of manifests and blobs is refused with UNSUPPORTED (distribution's storage.delete.enabled).</summary>
    public bool DeleteEnabled { get; init; } = true;
    public FileSystemStorageOptions FileSystem { get; init; } = new();
    public S3StorageOptions S3 { get; init; } = new();
}

public sealed record FileSystemStorageOptions
{
    /// <summary>The directory of blobs/ and uploads/; null: the data directory.</summary>
    public string? Path { get; init; }
}

/// <summary>An S3-compatible object store (<c>storage.s3</c>): blobs and uploads in one bucket, which must exist.</summary>
public sealed record S3StorageOptions
{
    public string? Endpoint { get; init; }
    public string? Bucket { get; init; }
    public string Region { get; init; } = "us-east-1";
    public string? AccessKey { get; init; }

    /// <summary>Never logged nor shown (<see cref="ToString"/> leaves it out).</summary>
    public string? SecretKey { get; init; }
    public bool ForcePathStyle { get; init; } = true;

    /// <summary>Blob GETs answer 307 to a pre-signed URL of the object instead of streaming it.</summary>
    public bool Redirect { get; init; }

    public override string ToString() => $"S3 bucket {Bucket} at {Endpoint} ({Region})";
}

/// <summary>
/// Where repositories, manifests, accounts and the audit log are kept (<c>metadata:</c>): berth.db in the data directory,
/// or a PostgreSQL database that several nodes share.
/// </summary>
public sealed record MetadataOptions
{
    public const string Sqlite = "sqlite";
    public const string PostgresType = "postgres";
    public static readonly IReadOnlyList<string> Types = [Sqlite, PostgresType];

    public string Type { get; init; } = Sqlite;
    public PostgresMetadataOptions Postgres { get; init; } = new();
}

public sealed record PostgresMetadataOptions
{
    /// <summary>An Npgsql connection string; it may hold a password, so it is never logged or shown.</summary>
    public string? ConnectionString { get; init; }
}

/// <summary>Sign-in, tokens and limits (<c>auth:</c>).</summary>
public sealed record AuthOptions
{
    /// <summary>The ES256 key that signs bearer tokens; created on first start. Nodes of one deployment share it. Null: data/token-key.pem.</summary>
    public string? TokenKey { get; init; }
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Pulls (manifest GETs) allowed per window: per address for anonymous callers, per account when signed in. 0 is unlimited.</summary>
    public int PullLimitAnonymous { get; init; }
    public int PullLimitSignedIn { get; init; }
    public TimeSpan PullLimitWindow { get; init; } = TimeSpan.FromHours(6);

    /// <summary>Failed sign-ins for one account from one address before that pair is locked out for <see cref="LoginLockout"/>.</summary>
    public int LoginMaxFailures { get; init; } = 5;
    public TimeSpan LoginLockout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>An htpasswd file (bcrypt entries) whose users are created or updated at start, as site administrators.</summary>
    public string? Htpasswd { get; init; }

    /// <summary>From BERTH_ADMIN_PASSWORD only: creates or resets the user "admin" at start. Never logged.</summary>
    public string? AdminPassword { get; init; }
}

/// <summary>Garbage collection (<c>gc:</c>): when it runs on its own, and what it keeps.</summary>
public sealed record GcSettings
{
    /// <summary>A cron expression (five fields, UTC), or "off".</summary>
    public string Schedule { get; init; } = "0 3 * * *";

    public TimeSpan Grace { get; init; } = TimeSpan.FromHours(1);

    /// <summary>"keep", "delete" (after the grace window) or a duration: untagged manifests older than it go.</summary>
    public string Untagged { get; init; } = "keep";

    /// <summary>How old an untagged manifest must be to go, or null when they are kept (<paramref name="untagged"/> as validated).</summary>
    public static TimeSpan? UntaggedAge(string untagged, TimeSpan grace) => untagged switch
    {
        "keep" => null,
        "delete" => grace,
        _ => ConfigLoader.TryParseDuration(untagged, out var age) ? age : throw new ArgumentException($"\"{untagged}\" is not keep, delete or a duration"),
    };

    /// <summary>Null when <paramref name="schedule"/> is "off" or a valid cron expression, else why not.</summary>
    public static string? ScheduleError(string schedule)
    {
        if (schedule == "off") return null;
        try
        {
            Cronos.CronExpression.Parse(schedule);
            return null;
        }
        catch (Cronos.CronFormatException e)
        {
            return $"\"{schedule}\" is not a cron expression of five fields, nor off ({e.Message})";
        }
    }
}
