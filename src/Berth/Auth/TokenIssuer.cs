using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Berth.Core;
using Berth.Core.Access;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Berth.Auth;

/// <summary>One entry of a token's <c>access</c> claim (https://distribution.github.io/distribution/spec/auth/jwt/).</summary>
internal sealed record AccessEntry(string Type, string Name, IReadOnlyList<string> Actions);

/// <summary>What a valid bearer token says.</summary>
internal sealed record TokenClaims(Caller Caller)
{
    /// <summary>
    /// The bytes these objects keep alive: this record, the caller, its strings and its access dictionary, and the
    /// cache key (32 bytes, held twice). Checked against a heap difference in TokenCacheTests.
    /// </summary>
    public long Cost
    {
        get
        {
            long cost = 64 + 32 + 96 + CacheCost.Of(Caller.Name) + CacheCost.Of(Caller.TokenId) + CacheCost.Of(Caller.Address);
            if (Caller.Granted is { } granted)
            {
                cost += 240 + 48L * granted.Count;
                foreach (var name in granted.Keys) cost += CacheCost.Of(name);
            }
            return cost;
        }
    }
}

/// <summary>
/// Signs and validates the registry's JWTs with an ES256 key that every node shares (kept by <see cref="ISharedSecrets"/>).
/// Access tokens are short-lived and list what was granted; refresh tokens (docker's identity token) only name the
/// account and the access token it signed in with, and are re-checked against the database when used.
/// </summary>
internal sealed class TokenIssuer
{
    private const string Issuer = "berth";
    private const string UseClaim = "berth_use";
    private const string TokenIdClaim = "berth_tid";
    private const string KindClaim = "berth_kind";
    public static readonly TimeSpan RefreshLifetime = TimeSpan.FromDays(30);

    /// <summary>Bound of the validated-token cache; a token there costs ~1 KB, its access list included.</summary>
    public const long CacheBytes = 16L << 20;

    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    /// <summary>SHA-256 of a token's text: the cache's key, so a token differing anywhere, signature included, misses.</summary>
    private readonly record struct TokenHash(ulong A, ulong B, ulong C, ulong D)
    {
        public static TokenHash Of(ReadOnlySpan<char> token)
        {
            Span<ulong> hash = stackalloc ulong[4];
            SHA256.HashData(MemoryMarshal.AsBytes(token), MemoryMarshal.AsBytes(hash));
            return new TokenHash(hash[0], hash[1], hash[2], hash[3]);
        }
    }

    // Access tokens that passed validation, until they expire: the signature check (ES256) costs more than the rest of a
    // manifest GET. A token lives out its lifetime either way (nothing revokes an issued access token), so this changes
    // no answer; the expiry is checked on every use, as the validator does.
    private readonly BoundedCache<TokenHash, TokenClaims> _validated;

    private readonly ECDsaSecurityKey _key;
    private readonly SigningCredentials _signing;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly TimeProvider _time;
    private readonly TokenValidationParameters _validation;

    public string Service { get; }

    public TimeSpan Lifetime { get; }

    /// <param name="keyPem">The ES256 private key as PKCS#8 PEM (<see cref="NewKeyPem"/> makes one).</param>
    public TokenIssuer(string keyPem, string service, TimeSpan lifetime, TimeProvider time, long cacheBytes = CacheBytes)
    {
        _validated = new BoundedCache<TokenHash, TokenClaims>(cacheBytes);
        Service = service;
        Lifetime = lifetime;
        _time = time;
        var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(keyPem);
        _key = new ECDsaSecurityKey(ecdsa) { KeyId = KeyId(ecdsa) };
        _signing = new SigningCredentials(_key, SecurityAlgorithms.EcdsaSha256);
        _validation = new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = service,
            IssuerSigningKey = _key,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = ClockSkew,
            LifetimeValidator = (notBefore, expires, _, p) =>
            {
                var now = _time.GetUtcNow().UtcDateTime;
                return expires is { } e && now < e + p.ClockSkew && (notBefore is not { } nb || nb - p.ClockSkew <= now);
            },
        };
    }

    /// <summary>A new P-256 private key as PKCS#8 PEM, for the secrets store to keep.</summary>
    public static string NewKeyPem()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return ecdsa.ExportPkcs8PrivateKeyPem();
    }

    private static string KeyId(ECDsa key) => Secrets.Base64Url(SHA256.HashData(key.ExportSubjectPublicKeyInfo()).AsSpan(0, 15));

    public (string Token, DateTimeOffset IssuedAt) IssueAccess(Caller caller, IReadOnlyList<AccessEntry> access)
    {
        var now = _time.GetUtcNow();
        var claims = Common(caller, now);
        claims["access"] = access.Select(a => new Dictionary<string, object>
        {
            ["type"] = a.Type,
            ["name"] = a.Name,
            ["actions"] = a.Actions.ToList<object>(),
        }).ToList<object>();
        return (Create(claims, now, now + Lifetime), now);
    }

    public string IssueRefresh(Caller caller)
    {
        var now = _time.GetUtcNow();
        var claims = Common(caller, now);
        claims[UseClaim] = "refresh";
        return Create(claims, now, now + RefreshLifetime);
    }

    private static Dictionary<string, object> Common(Caller caller, DateTimeOffset now)
    {
        var claims = new Dictionary<string, object>
        {
            ["sub"] = caller.Name ?? "",
            ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            [JwtRegisteredClaimNames.Iat] = now.ToUnixTimeSeconds(),
        };
        if (caller.Kind is { } kind) claims[KindClaim] = kind == AccountKind.Robot ? "robot" : "user";
        if (caller.TokenId is { } tid) claims[TokenIdClaim] = tid;
        return claims;
    }

    private string Create(Dictionary<string, object> claims, DateTimeOffset now, DateTimeOffset expires) => _handler.CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = Service,
        Claims = claims,
        NotBefore = now.UtcDateTime,
        Expires = expires.UtcDateTime,
        IssuedAt = now.UtcDateTime,
        SigningCredentials = _signing,
    });

    /// <summary>The claims of an access token validated before and not expired yet, or null: then <see cref="ValidateAccessAsync"/>.</summary>
    public TokenClaims? Validated(ReadOnlySpan<char> token) =>
        token.Length <= MaxTokenLength && _validated.TryGet(TokenHash.Of(token), _time.GetUtcNow().UtcTicks, out var claims) ? claims : null;

    public long CachedBytes => _validated.Bytes;

    /// <summary>An access token's claims, or null when it is not one of ours, was altered, or has expired.</summary>
    public async Task<TokenClaims?> ValidateAccessAsync(string token)
    {
        var (payload, expires) = await ValidateAsync(token);
        if (payload is null || payload.Value.TryGetProperty(UseClaim, out _)) return null;
        var granted = new Dictionary<string, RepoActions>(StringComparer.Ordinal);
        if (payload.Value.TryGetProperty("access", out var access) && access.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in access.EnumerateArray())
            {
                var type = entry.TryGetProperty("type", out var t) ? t.GetString() : null;
                var name = entry.TryGetProperty("name", out var n) ? n.GetString() : null;
                var actions = RepoActions.None;
                if (entry.TryGetProperty("actions", out var list) && list.ValueKind == JsonValueKind.Array)
                {
                    foreach (var a in list.EnumerateArray()) actions |= AccessText.ParseActions(a.GetString() ?? "");
                }
                if (type == "repository" && name is not null) granted[name] = granted.GetValueOrDefault(name) | actions;
            }
        }
        var claims = new TokenClaims(CallerOf(payload.Value) with { Granted = granted });
        // The validator accepts a token until its expiry plus the clock skew; so does the cache.
        _validated.Set(TokenHash.Of(token), claims, claims.Cost, (expires + ClockSkew).Ticks);
        return claims;
    }

    /// <summary>The account and access token a refresh token names, or null when it is not a valid refresh token.</summary>
    public async Task<(string Account, string? TokenId)?> ValidateRefreshAsync(string token)
    {
        var (payload, _) = await ValidateAsync(token);
        if (payload is not { } p || !p.TryGetProperty(UseClaim, out var use) || use.GetString() != "refresh") return null;
        var caller = CallerOf(p);
        return caller.Name is { Length: > 0 } name ? (name, caller.TokenId) : null;
    }

    private static Caller CallerOf(JsonElement p)
    {
        var sub = p.TryGetProperty("sub", out var s) ? s.GetString() : null;
        AccountKind? kind = p.TryGetProperty(KindClaim, out var k) ? (k.GetString() == "robot" ? AccountKind.Robot : AccountKind.User) : null;
        var tid = p.TryGetProperty(TokenIdClaim, out var t) ? t.GetString() : null;
        return string.IsNullOrEmpty(sub) || kind is null ? Caller.Anonymous : new Caller(kind, sub, TokenId: tid);
    }

    private const int MaxTokenLength = 16_384;

    private async Task<(JsonElement? Payload, DateTime Expires)> ValidateAsync(string token)
    {
        if (token.Length > MaxTokenLength) return (null, default);
        var result = await _handler.ValidateTokenAsync(token, _validation);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt) return (null, default);
        try
        {
            using var doc = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
            return (doc.RootElement.Clone(), DateTime.SpecifyKind(jwt.ValidTo, DateTimeKind.Utc));
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return (null, default);
        }
    }
}
