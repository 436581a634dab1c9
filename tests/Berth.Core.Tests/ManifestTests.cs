using System.Text;
using Berth.Core;

namespace Berth.Core.Tests;

public sealed class ManifestTests
{
    private static readonly string D1 = Digest.Compute("one"u8).ToString();
    private static readonly string D2 = Digest.Compute("two"u8).ToString();
    private static readonly string D3 = Digest.Compute("three"u8).ToString();
    private static readonly string EmptyConfig = Digest.Compute("{}"u8).ToString();

    private static Manifest Parse(string json, string? contentType)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        return Manifest.Parse(bytes, contentType, Digest.Compute(bytes));
    }

    private static ErrorCode Refused(string json, string? contentType) =>
        Assert.Throws<RegistryException>(() => Parse(json, contentType)).Code;

    private static string Image(string mediaType, string extra = "") =>
        $$"""{"schemaVersion":2,"mediaType":"{{mediaType}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{D1}}","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{{D2}}","size":10}]{{extra}}}""";

    [Fact]
    public void ParsesAnOciImageManifest()
    {
        var m = Parse(Image(MediaTypes.OciManifest), MediaTypes.OciManifest);
        Assert.Equal(MediaTypes.OciManifest, m.MediaType);
        Assert.Equal(D1, m.Config!.Digest.ToString());
        Assert.Equal([D1, D2], m.RequiredBlobs.Select(b => b.Digest.ToString()));
        Assert.Empty(m.Children);
        Assert.Null(m.Subject);
        Assert.Equal("application/vnd.oci.image.config.v1+json", m.EffectiveArtifactType);
    }

    [Fact]
    public void ParsesADockerSchema2Manifest()
    {
        var m = Parse(Image(MediaTypes.DockerManifest), MediaTypes.DockerManifest);
        Assert.Equal(MediaTypes.DockerManifest, m.MediaType);
        Assert.Equal(2, m.RequiredBlobs.Count());
    }

    [Theory]
    [InlineData(MediaTypes.OciIndex)]
    [InlineData(MediaTypes.DockerManifestList)]
    public void ParsesIndexesAndLists(string mediaType)
    {
        var json = $$$"""{"schemaVersion":2,"mediaType":"{{{mediaType}}}","manifests":[{"mediaType":"{{{MediaTypes.OciManifest}}}","digest":"{{{D1}}}","size":100,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},{"mediaType":"{{{MediaTypes.OciManifest}}}","digest":"{{{D2}}}","size":100,"platform":{"architecture":"amd64","os":"linux"}}]}""";
        var m = Parse(json, mediaType);
        Assert.Equal(mediaType, m.MediaType);
        Assert.Equal(2, m.Children.Count);
        Assert.Equal(new Platform("arm64", "linux", "v8"), m.Children[0].Platform);
        Assert.Empty(m.RequiredBlobs);
    }

    [Fact]
    public void ParsesAnArtifactWithSubject()
    {
        var json = $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciManifest}}}","artifactType":"application/vnd.example.sbom","config":{"mediaType":"{{{MediaTypes.OciEmpty}}}","digest":"{{{EmptyConfig}}}","size":2},"layers":[],"subject":{"mediaType":"{{{MediaTypes.OciManifest}}}","digest":"{{{D3}}}","size":500},"annotations":{"org.example.kind":"sbom"}}""";
        var m = Parse(json, MediaTypes.OciManifest);
        Assert.Equal("application/vnd.example.sbom", m.EffectiveArtifactType);
        Assert.Equal(D3, m.Subject!.Digest.ToString());
        Assert.Equal("sbom", m.Annotations!["org.example.kind"]);
        Assert.Single(m.RequiredBlobs);
    }

    [Fact]
    public void TellsTheTypeFromTheShapeWhenMediaTypeIsOmitted()
    {
        var image = $$"""{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{D1}}","size":2},"layers":[]}""";
        Assert.Equal(MediaTypes.OciManifest, Parse(image, null).MediaType);
        Assert.Equal(MediaTypes.OciManifest, Parse(image, MediaTypes.OciManifest).MediaType);
        Assert.Equal(MediaTypes.OciIndex, Parse("""{"schemaVersion":2,"manifests":[]}""", null).MediaType);
    }

    [Fact]
    public void ForeignLayersAreNotRequired()
    {
        var json = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.DockerManifest}}","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{{D1}}","size":2},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{{D2}}","size":10,"urls":["https://example.invalid/layer"]}]}""";
        Assert.Equal([D1], Parse(json, MediaTypes.DockerManifest).RequiredBlobs.Select(b => b.Digest.ToString()));
    }

    [Fact]
    public void RefusesSchema1()
    {
        Assert.Equal(ErrorCode.ManifestInvalid, Refused("""{"schemaVersion":1,"name":"a","tag":"b","fsLayers":[]}""", MediaTypes.DockerSchema1Signed));
        Assert.Equal(ErrorCode.ManifestInvalid, Refused("""{"schemaVersion":1,"name":"a","tag":"b","fsLayers":[]}""", null));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"schemaVersion":3,"config":{}}""")]
    [InlineData("""{"schemaVersion":"2","layers":[]}""")]
    public void RefusesMalformedDocuments(string json) => Assert.Equal(ErrorCode.ManifestInvalid, Refused(json, MediaTypes.OciManifest));

    [Fact]
    public void RefusesAContentTypeThatContradictsTheDocument() =>
        Assert.Equal(ErrorCode.ManifestInvalid, Refused(Image(MediaTypes.OciManifest), MediaTypes.DockerManifest));

    [Fact]
    public void RefusesUnknownMediaTypes() =>
        Assert.Equal(ErrorCode.ManifestInvalid, Refused(Image("application/vnd.example.thing"), "application/vnd.example.thing"));

    [Theory]
    [InlineData("""{"mediaType":"application/octet-stream","size":1}""")]
    [InlineData("""{"mediaType":"application/octet-stream","digest":"DIGEST"}""")]
    [InlineData("""{"mediaType":"application/octet-stream","digest":"DIGEST","size":-1}""")]
    [InlineData("""{"mediaType":"application/octet-stream","digest":"DIGEST","size":"1"}""")]
    [InlineData("""{"mediaType":"not a media type","digest":"DIGEST","size":1}""")]
    [InlineData("""{"digest":"DIGEST","size":1}""")]
    [InlineData("""{"mediaType":"application/octet-stream","digest":"DIGEST","size":1,"annotations":{"a":1}}""")]
    public void RefusesBadDescriptors(string layer)
    {
        var json = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{D1}}","size":2},"layers":[{{layer.Replace("DIGEST", D2)}}]}""";
        Assert.Equal(ErrorCode.ManifestInvalid, Refused(json, MediaTypes.OciManifest));
    }

    [Fact]
    public void ABadDigestInADescriptorIsDigestInvalid()
    {
        var json = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:nope","size":2},"layers":[]}""";
        Assert.Equal(ErrorCode.DigestInvalid, Refused(json, MediaTypes.OciManifest));
    }

    [Fact]
    public void DockerManifestsCannotCarryOciOnlyFields() =>
        Assert.Equal(ErrorCode.ManifestInvalid, Refused(Image(MediaTypes.DockerManifest, $$""","subject":{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{D3}}","size":1}"""), MediaTypes.DockerManifest));
}
