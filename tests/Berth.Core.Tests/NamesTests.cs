using Berth.Core;

namespace Berth.Core.Tests;

public sealed class NamesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("team/app")]
    [InlineData("library/ubuntu")]
    [InlineData("a.b/c_d/e__f/g-h/i---j")]
    [InlineData("0/1/2/3/4/5/6/7/8/9")]
    [InlineData("my-org/my.app_v2")]
    public void AcceptsTheSpecGrammar(string name) => Assert.True(Names.IsValidRepository(name));

    [Theory]
    [InlineData("")]
    [InlineData("Team/app")]
    [InlineData("team/App")]
    [InlineData("../etc")]
    [InlineData("team/../app")]
    [InlineData("team/./app")]
    [InlineData("team//app")]
    [InlineData("/team")]
    [InlineData("team/")]
    [InlineData("-team")]
    [InlineData("team-")]
    [InlineData("team.")]
    [InlineData("a___b")]
    [InlineData("a..b")]
    [InlineData("a._b")]
    [InlineData("team app")]
    [InlineData("team:app")]
    [InlineData("team\\app")]
    [InlineData("téam")]
    public void RefusesEverythingElse(string name) => Assert.False(Names.IsValidRepository(name));

    [Fact]
    public void LimitsTheLength()
    {
        Assert.True(Names.IsValidRepository(new string('a', Names.MaxRepositoryLength)));
        Assert.False(Names.IsValidRepository(new string('a', Names.MaxRepositoryLength + 1)));
    }

    [Theory]
    [InlineData("latest", true)]
    [InlineData("1.0", true)]
    [InlineData("_private", true)]
    [InlineData("v1.2.3-rc.1_build", true)]
    [InlineData("PROD", true)]
    [InlineData("", false)]
    [InlineData(".hidden", false)]
    [InlineData("-dash", false)]
    [InlineData("a/b", false)]
    [InlineData("a:b", false)]
    public void ValidatesTags(string tag, bool valid) => Assert.Equal(valid, Names.IsValidTag(tag));

    [Fact]
    public void LimitsTagsTo128Characters()
    {
        Assert.True(Names.IsValidTag(new string('a', 128)));
        Assert.False(Names.IsValidTag(new string('a', 129)));
    }

    [Fact]
    public void ParsesReferences()
    {
        var tag = Reference.Parse("1.0");
        Assert.False(tag.IsDigest);
        Assert.Equal("1.0", tag.Tag);
        var digest = Reference.Parse("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        Assert.True(digest.IsDigest);
        Assert.Equal(ErrorCode.TagInvalid, Assert.Throws<RegistryException>(() => Reference.Parse("-bad")).Code);
        Assert.Equal(ErrorCode.DigestInvalid, Assert.Throws<RegistryException>(() => Reference.Parse("sha256:nothex")).Code);
    }
}
