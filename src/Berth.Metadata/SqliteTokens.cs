using System.Data.Common;
using Berth.Core.Access;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class SqliteTokens(SqliteDatabase db) : ITokens
{
    private const string TokenColumns = "id, account, name, secret_hash, scopes, created, expires, revoked";

    private static AccessToken ReadToken(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
        r.GetString(4).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(TokenScope.Parse).OfType<TokenScope>().ToList(),
        Time(r.GetInt64(5)), r.IsDBNull(6) ? null : Time(r.GetInt64(6)), r.IsDBNull(7) ? null : Time(r.GetInt64(7)));

    public async Task CreateTokenAsync(AccessToken t, CancellationToken ct)
    {
        await Recorded(db, new RegistryEvent(0, Time(db.Now()), EventKinds.TokenChange, null, t.Account, Detail: $"create {t.Id}"), $"INSERT INTO tokens ({TokenColumns}) VALUES ($i, $a, $n, $h, $s, $c, $e, NULL)", ct,
            ("$i", t.Id), ("$a", t.Account), ("$n", t.Name), ("$h", t.SecretHash), ("$s", string.Join(' ', t.Scopes)),
            ("$c", Ms(t.Created)), ("$e", t.Expires is { } e ? Ms(e) : null));
    }

    public async Task<AccessToken?> GetTokenAsync(string id, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var rows = await Rows(c, null, $"SELECT {TokenColumns} FROM tokens WHERE id = $i", ReadToken, ct, ("$i", id));
        return rows.Count > 0 ? rows[0] : null;
    }

    public async Task<IReadOnlyList<AccessToken>> ListTokensAsync(string account, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, $"SELECT {TokenColumns} FROM tokens WHERE account = $a ORDER BY created", ReadToken, ct, ("$a", account));
    }

    public async Task<bool> RevokeTokenAsync(string id, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        if (await Scalar(c, tx, "UPDATE tokens SET revoked = $t WHERE id = $i AND revoked IS NULL RETURNING account", ct, ("$i", id), ("$t", Ms(now))) is not string account) return false;
        await Event(c, tx, new RegistryEvent(0, now, EventKinds.TokenChange, null, account, Detail: $"revoke {id}"), ct);
        await tx.CommitAsync(ct);
        return true;
    }
}
