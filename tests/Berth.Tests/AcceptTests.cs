using Berth.Api;
using Microsoft.Extensions.Primitives;

namespace Berth.Tests;

/// <summary>Which Accept headers let a manifest of a given media type through (ManifestEndpoints.Accepts).</summary>
public sealed class AcceptTests
{
    private const string Oci = "application/vnd.oci.image.manifest.v1+json";

    [Theory]
    [InlineData(Oci)]
    [InlineData("application/vnd.docker.distribution.manifest.v2+json, " + Oci)]
    [InlineData("application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json; q=0.5")]
    [InlineData("  APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON  ")]
    [InlineData("*/*")]
    [InlineData("application/*;q=0.1")]
    [InlineData("")]
    [InlineData("text/plain, ,")]
    public void Accepted(string accept) => Assert.True(ManifestEndpoints.Accepts(new StringValues(accept), Oci));

    [Theory]
    [InlineData("application/vnd.docker.distribution.manifest.v2+json")]
    [InlineData("application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json")]
    [InlineData("text/*")]
    [InlineData("application/vnd.oci.image.manifest.v1+json-not")]
    public void Refused(string accept) => Assert.False(ManifestEndpoints.Accepts(new StringValues(accept), Oci));

    [Fact]
    public void NoHeaderOrOneOfSeveralHeadersListsIt()
    {
        Assert.True(ManifestEndpoints.Accepts(StringValues.Empty, Oci));
        Assert.True(ManifestEndpoints.Accepts(new StringValues(["text/plain", Oci]), Oci));
        Assert.False(ManifestEndpoints.Accepts(new StringValues(["text/plain", "image/png"]), Oci));
    }
}
