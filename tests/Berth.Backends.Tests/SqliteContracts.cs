using Berth.Core.Access;
using Berth.Metadata;

namespace Berth.Backends.Tests;

internal static class Sqlite
{
    // In memory, the counters are the process's own: every opening of one directory's state in this process shares them.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ILimitCounters> Counters = new();

    public static async Task<Stores> OpenAsync(TempDirectory temp)
    {
        var db = await SqliteDatabase.OpenAsync(Path.Combine(temp.Path, "berth.db"), TimeProvider.System, CancellationToken.None);
        return new Stores(new SqliteUploadSessions(db), new SqliteBlobLinks(db), new SqliteManifestIndex(db), new SqliteRepositories(db),
            new SqliteAccounts(db), new SqliteTokens(db), new SqliteAuditLog(db), new SqliteEventLog(db),
            // A single node's counters and secrets, as Backends pairs them with SQLite: in memory, and files of the data directory.
            Counters.GetOrAdd(temp.Path, _ => new MemoryLimitCounters()), new FileSecrets(temp.Path), new SqliteJobLocks(db))
        {
            Policies = new SqlitePolicies(db), TagStatistics = new SqliteTagStatistics(db), Integrity = new SqliteIntegrity(db), Garbage = new SqliteGarbage(db), Claims = new SqliteGarbage(db),
        };
    }
}

public sealed class SqliteUploadSessionsTests : UploadSessionsContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteBlobLinksTests : BlobLinksContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteManifestIndexTests : ManifestIndexContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteRepositoriesTests : RepositoriesContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteAccountsTests : AccountsContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteTokensTests : TokensContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteEventLogTests : EventLogContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteAuditLogTests : AuditLogContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteLimitCountersTests : LimitCountersContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteSharedSecretsTests : SharedSecretsContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteJobLocksTests : JobLocksContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqlitePoliciesTests : PoliciesContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

public sealed class SqliteGarbageTests : GarbageContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}
