using Berth.Core;

namespace Berth.Core.Tests;

public sealed class DigestTests
{
    private const string Sha256Hex = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    [Fact]
    public void ParsesSha256AndSha512()
    {
        var d = Digest.Parse($"sha256:{Sha256Hex}");
        Assert.Equal("sha256", d.Algorithm);
        Assert.Equal(Sha256Hex, d.Hex);
        Assert.Equal($"sha256:{Sha256Hex}", d.ToString());
        Assert.True(Digest.TryParse("sha512:" + new string('a', 128), out var d512));
        Assert.Equal("sha512", d512.Algorithm);
    }

    [Theory]
    [InlineData("")]
    [InlineData("sha256")]
    [InlineData("sha256:")]
    [InlineData(":2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")]
    [InlineData("sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824")]
    [InlineData("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982")]
    [InlineData("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b98244")]
    [InlineData("sha256:zcf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("sha512:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")]
    [InlineData("sha256:../../../../etc/passwd")]
    public void RefusesMalformedDigests(string value)
    {
        Assert.False(Digest.TryParse(value, out _));
        var e = Assert.Throws<RegistryException>(() => Digest.Parse(value));
        Assert.Equal(ErrorCode.DigestInvalid, e.Code);
    }

    [Fact]
    public void ComputesTheDigestOfContent()
    {
        Assert.Equal($"sha256:{Sha256Hex}", Digest.Compute("hello"u8).ToString());
        var sha512 = Digest.Compute("hello"u8, "sha512");
        Assert.Equal("sha512", sha512.Algorithm);
        Assert.Equal(128, sha512.Hex.Length);
    }

    [Fact]
    public void IsAValueType()
    {
        Assert.Equal(Digest.Parse($"sha256:{Sha256Hex}"), Digest.Compute("hello"u8));
        Assert.NotEqual(Digest.Compute("a"u8), Digest.Compute("b"u8));
    }
}
