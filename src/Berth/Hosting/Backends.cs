using Berth.Configuration;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Storage;
using Berth.Metadata;
using Berth.Storage.S3;

namespace Berth.Hosting;

/// <summary>
/// The composition root's one choice of backends, for <c>serve</c> and every CLI verb alike: opens the data directory
/// and builds the stores the configuration names, and the access services on top of them. A new backend is a case in a
/// switch here; a configured name no case knows is refused by the configuration's validation, and again here.
/// </summary>
internal sealed class Backends
{
    public required IUploadSessions Uploads { get; init; }
    public required IBlobLinks BlobLinks { get; init; }
    public required IManifestIndex Manifests { get; init; }
    public required IRepositories Repositories { get; init; }
    public required IAccounts Accounts { get; init; }
    public required ITokens Tokens { get; init; }
    public required IAuditLog AuditLog { get; init; }
    public required IEventLog Events { get; init; }
    public required ILimitCounters Counters { get; init; }
    public required ISharedSecrets Secrets { get; init; }
    public required IJobLocks JobLocks { get; init; }
    public required IPolicies Policies { get; init; }
    public required ITagStatistics TagStatistics { get; init; }
    public required IIntegrity Integrity { get; init; }
    public required IGarbageIndex Garbage { get; init; }
    public required IBlobClaims Claims { get; init; }
    public required IWebhooks Webhooks { get; init; }
    public required IRegistryStats Stats { get; init; }

    /// <summary>
    /// Opens the metadata backend. With <paramref name="create"/> (serve) a missing registry is created; without (the
    /// verbs) it is an error that creates nothing. Files made private are reported in <paramref name="notices"/>.
    /// </summary>
    public static async Task<Backends> OpenAsync(BerthOptions options, bool create, TimeProvider time, List<string> notices, CancellationToken ct)
    {
        switch (options.Metadata.Type)
        {
            case MetadataOptions.Sqlite:
                var database = await DataDirectory.OpenAsync(options.Data, create, notices, time, ct);
                return new Backends
                {
                    Uploads = new SqliteUploadSessions(database),
                    BlobLinks = new SqliteBlobLinks(database),
                    Manifests = new SqliteManifestIndex(database),
                    Repositories = new SqliteRepositories(database),
                    Accounts = new SqliteAccounts(database),
                    Tokens = new SqliteTokens(database),
                    AuditLog = new SqliteAuditLog(database),
                    Events = new SqliteEventLog(database),
                    // One node: the counters live in its memory, the secrets in its data directory.
                    Counters = new MemoryLimitCounters(),
                    Secrets = new FileSecrets(Path.GetFullPath(options.Data)),
                    JobLocks = new SqliteJobLocks(database),
                    Policies = new SqlitePolicies(database),
                    TagStatistics = new SqliteTagStatistics(database),
                    Integrity = new SqliteIntegrity(database),
                    Garbage = new SqliteGarbage(database),
                    Claims = new SqliteGarbage(database),
                    Webhooks = new SqliteWebhooks(database),
                    Stats = new SqliteRegistryStats(database),
                };
            case MetadataOptions.PostgresType:
                var postgres = await OpenPostgresAsync(options.Metadata.Postgres.ConnectionString!, create, time, ct);
                return new Backends
                {
                    Uploads = new PostgresUploadSessions(postgres),
                    BlobLinks = new PostgresBlobLinks(postgres),
                    Manifests = new PostgresManifestIndex(postgres),
                    Repositories = new PostgresRepositories(postgres),
                    Accounts = new PostgresAccounts(postgres),
                    Tokens = new PostgresTokens(postgres),
                    AuditLog = new PostgresAuditLog(postgres),
                    Events = new PostgresEventLog(postgres),
                    // Every node: the counters and the token key live in the database they share.
                    Counters = new PostgresLimitCounters(postgres),
                    Secrets = new PostgresSharedSecrets(postgres),
                    JobLocks = new PostgresJobLocks(postgres),
                    Policies = new PostgresPolicies(postgres),
                    TagStatistics = new PostgresTagStatistics(postgres),
                    Integrity = new PostgresIntegrity(postgres),
                    Garbage = new PostgresGarbage(postgres),
                    Claims = new PostgresGarbage(postgres),
                    Webhooks = new PostgresWebhooks(postgres),
                    Stats = new PostgresRegistryStats(postgres),
                };
            default:
                throw Unknown("metadata.type", options.Metadata.Type);
        }
    }

    /// <summary>
    /// Connects to the PostgreSQL database and creates or upgrades its schema; without <paramref name="create"/> (the verbs) a
    /// database without Berth's schema is an error. Errors name the server and database, never the connection string (it
    /// may hold a password).
    /// </summary>
    internal static async Task<PostgresDatabase> OpenPostgresAsync(string connectionString, bool create, TimeProvider time, CancellationToken ct)
    {
        var b = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        var where = $"PostgreSQL database {b.Database ?? b.Username ?? "(default)"} on {b.Host}:{b.Port}";
        try
        {
            return await PostgresDatabase.OpenAsync(connectionString, time, ct, create);
        }
        catch (PostgresDatabase.NoSchemaException)
        {
            throw new StartupException($"the {where} holds no registry; check metadata.postgres.connectionString ('berth serve' creates a registry)", ExitCodes.Usage);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            throw new StartupException($"cannot open the {where}: {e.Message}");
        }
    }

    /// <summary>
    /// Blob storage: finished content and uploads in progress; only the server needs it. The filesystem creates its
    /// directories; S3 checks that the bucket answers, so a wrong endpoint, bucket or key stops the start with its cause.
    /// </summary>
    public static async Task<BlobStorage> OpenBlobStorageAsync(BerthOptions options, TimeProvider time, CancellationToken ct)
    {
        switch (options.Storage.Type)
        {
            case StorageOptions.FileSystemType:
                var paths = new StoragePaths(options.Storage.FileSystem.Path ?? options.Data);
                return new BlobStorage(new FileSystemBlobStore(paths), new FileSystemUploadStaging(paths));
            case StorageOptions.S3Type:
                var s3 = options.Storage.S3;
                var bucket = new S3Bucket(new S3Settings(s3.Endpoint!, s3.Bucket!, s3.Region, s3.AccessKey!, s3.SecretKey!, s3.ForcePathStyle, s3.Redirect));
                try
                {
                    await bucket.CheckAsync(ct);
                }
                catch (InvalidOperationException e)
                {
                    bucket.Dispose();
                    throw new StartupException($"storage.s3: {e.Message}");
                }
                return new BlobStorage(new S3BlobStore(bucket, time), new S3UploadStaging(bucket));
            default:
                throw Unknown("storage.type", options.Storage.Type);
        }
    }

    /// <summary>Who may do what, and the services the management API, the token endpoint and the verbs work through.</summary>
    public AccessServices AccessServices(BerthOptions options, TimeProvider time)
    {
        var access = new AccessControl(Accounts, Repositories, time);
        var audit = new AuditTrail(AuditLog, access, time);
        var throttle = new LoginThrottle(Counters, time, options.Auth.LoginMaxFailures, options.Auth.LoginLockout);
        return new AccessServices(
            access,
            audit,
            new Administration(Accounts, Repositories, access, audit, time),
            new TokenService(Accounts, Tokens, access, audit, time),
            new SignInService(Accounts, Tokens, audit, throttle, time, Auth.Htpasswd.VerifyPassword),
            new RepositoryDirectory(Repositories, access));
    }

    /// <summary>The name the token signing key is kept under by <see cref="ISharedSecrets"/>.</summary>
    public const string TokenKeyName = "token-key.pem";

    /// <summary>The token signing key: the file <c>auth.tokenKey</c> names, else the one the backend's secrets keep (created on first use).</summary>
    public Task<string> TokenKeyAsync(BerthOptions options, CancellationToken ct) => TokenKeyAsync(options, Secrets, ct);

    /// <inheritdoc cref="TokenKeyAsync(BerthOptions, CancellationToken)"/>
    public static Task<string> TokenKeyAsync(BerthOptions options, ISharedSecrets secrets, CancellationToken ct) =>
        options.Auth.TokenKey is { } path
            ? new FileSecrets(Path.GetDirectoryName(Path.GetFullPath(path))!).GetOrAddAsync(Path.GetFileName(path), Auth.TokenIssuer.NewKeyPem, ct)
            : secrets.GetOrAddAsync(TokenKeyName, Auth.TokenIssuer.NewKeyPem, ct);

    private static StartupException Unknown(string key, string name) => new($"{key}: unknown backend \"{name}\"", ExitCodes.Usage);
}

/// <summary>The account services on one set of stores: built once by <see cref="Backends.AccessServices"/>.</summary>
internal sealed record AccessServices(
    AccessControl Access, AuditTrail Audit, Administration Admin, TokenService Tokens, SignInService SignIn, RepositoryDirectory Directory);

/// <summary>The two halves of a storage backend: content by digest, and the staging area of uploads.</summary>
internal sealed record BlobStorage(IBlobStore Blobs, IUploadStaging Staging);
