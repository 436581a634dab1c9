using Berth.Configuration;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Storage;
using Berth.Metadata;

namespace Berth.Hosting;

/// <summary>
/// The composition root's one choice of backends, for <c>serve</c> and every CLI verb alike: opens the data directory
/// and builds the stores the configuration names, and the access services on top of them. A new backend is a case in a
/// switch here; a configured name no case knows is refused by the configuration's validation, and again here.
/// </summary>
internal sealed class Backends
{
    public required IMetadataStore Metadata { get; init; }
    public required IAccountStore Accounts { get; init; }
    public required IAuditStore Audit { get; init; }

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
                return new Backends { Metadata = new SqliteMetadataStore(database), Accounts = new SqliteAccountStore(database), Audit = new SqliteAuditStore(database) };
            default:
                throw Unknown("metadata.type", options.Metadata.Type);
        }
    }

    /// <summary>The blob store; only the server needs one (it creates its directories).</summary>
    public static IBlobStore OpenBlobStore(BerthOptions options) => options.Storage.Type switch
    {
        StorageOptions.FileSystemType => new FileSystemBlobStore(new StoragePaths(options.Storage.FileSystem.Path ?? options.Data)),
        _ => throw Unknown("storage.type", options.Storage.Type),
    };

    /// <summary>Who may do what, and the service the management API and the verbs administer accounts with.</summary>
    public (AccessControl Access, AccountService Accounts) AccessServices(BerthOptions options, TimeProvider time)
    {
        var access = new AccessControl(Accounts, time);
        var throttle = new LoginThrottle(time, options.Auth.LoginMaxFailures, options.Auth.LoginLockout);
        return (access, new AccountService(Accounts, Audit, access, throttle, time));
    }

    private static StartupException Unknown(string key, string name) => new($"{key}: unknown backend \"{name}\"", ExitCodes.Usage);
}
