using Berth.Metadata;

namespace Berth.Backends.Tests;

internal static class Sqlite
{
    public static async Task<Stores> OpenAsync(TempDirectory temp)
    {
        var db = await SqliteDatabase.OpenAsync(Path.Combine(temp.Path, "berth.db"), TimeProvider.System, CancellationToken.None);
        return new Stores(new SqliteUploadSessions(db), new SqliteBlobLinks(db), new SqliteManifestIndex(db), new SqliteRepositories(db),
            new SqliteAccounts(db), new SqliteTokens(db), new SqliteAuditLog(db), new SqliteEventLog(db));
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
