using Berth.Core.Access;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

/// <summary>
/// Secrets in the database, so every node signs with the same token key. The first insert wins: a concurrent insert of
/// the same name waits for it and then does nothing, and everyone reads the winner's value. Anyone who can read the
/// database can read them, as they can every token hash and account.
/// </summary>
public sealed class PostgresSharedSecrets(PostgresDatabase db) : ISharedSecrets
{
    public async Task<string> GetOrAddAsync(string name, Func<string> create, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        const string read = "SELECT value FROM secrets WHERE name = @n";
        if (await Scalar(c, null, read, ct, ("@n", name)) is string value) return value;
        await Exec(c, null, "INSERT INTO secrets (name, value, created) VALUES (@n, @v, @t) ON CONFLICT DO NOTHING", ct,
            ("@n", name), ("@v", create()), ("@t", db.Now()));
        return (string)(await Scalar(c, null, read, ct, ("@n", name)))!;
    }
}
