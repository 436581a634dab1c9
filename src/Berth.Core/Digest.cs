using System.Security.Cryptography;

namespace Berth.Core;

/// <summary>
/// A content digest, <c>algorithm:hex</c>, restricted to the algorithms the OCI image spec
/// registers (sha256, sha512). See https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
/// </summary>
public readonly record struct Digest
{
    private Digest(string algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    public string Algorithm { get; }
    public string Hex { get; }

    public static Digest Parse(string value) =>
        TryParse(value, out var digest) ? digest : throw new RegistryException(ErrorCode.DigestInvalid, $"invalid digest \"{ErrorDetail.Clip(value)}\"");

    public static bool TryParse(string? value, out Digest digest)
    {
        digest = default;
        if (value is null) return false;
        var colon = value.IndexOf(':');
        if (colon <= 0) return false;
        var algorithm = value[..colon];
        var hex = value[(colon + 1)..];
        var expected = algorithm switch
        {
            "sha256" => 64,
            "sha512" => 128,
            _ => -1,
        };
        if (hex.Length != expected || !IsLowerHex(hex)) return false;
        digest = new Digest(algorithm, hex);
        return true;
    }

    public static Digest Compute(ReadOnlySpan<byte> content, string algorithm = "sha256") => algorithm switch
    {
        "sha256" => new Digest("sha256", Convert.ToHexStringLower(SHA256.HashData(content))),
        "sha512" => new Digest("sha512", Convert.ToHexStringLower(SHA512.HashData(content))),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    public static Digest FromHash(string algorithm, ReadOnlySpan<byte> hash) => new(algorithm, Convert.ToHexStringLower(hash));

    public static HashAlgorithmName HashName(string algorithm) => algorithm switch
    {
        "sha256" => HashAlgorithmName.SHA256,
        "sha512" => HashAlgorithmName.SHA512,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    public IncrementalHash CreateHasher() => IncrementalHash.CreateHash(HashName(Algorithm));

    public override string ToString() => Algorithm is null ? "" : $"{Algorithm}:{Hex}";

    private static bool IsLowerHex(string s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c) && c is < 'a' or > 'f') return false;
        }
        return true;
    }
}
