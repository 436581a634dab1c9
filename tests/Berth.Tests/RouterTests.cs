using Berth.Api;

namespace Berth.Tests;

/// <summary>Which surface owns a path. The router sees the path as sent (RequestTarget runs first), dot segments included.</summary>
public sealed class RouterTests
{
    [Theory]
    [InlineData("/v2/", nameof(Surface.Registry))]
    [InlineData("/v2", nameof(Surface.Registry))]
    [InlineData("/v2x", nameof(Surface.Registry))]
    [InlineData("/v2/_catalog", nameof(Surface.Registry))]
    [InlineData("/v2/library/app/manifests/latest", nameof(Surface.Registry))]
    [InlineData("/token", nameof(Surface.Token))]
    [InlineData("/api/v1/users", nameof(Surface.Management))]
    [InlineData("/api/v1/", nameof(Surface.Management))]
    [InlineData("/v1/search", nameof(Surface.Search))]
    [InlineData("/healthz", nameof(Surface.Live))]
    [InlineData("/readyz", nameof(Surface.Ready))]
    [InlineData("/", nameof(Surface.Pages))]
    [InlineData("/search", nameof(Surface.Pages))]
    [InlineData("/signin", nameof(Surface.Pages))]
    [InlineData("/r/library/app", nameof(Surface.Pages))]
    [InlineData("/r/a/b/tags/1.0", nameof(Surface.Pages))]
    [InlineData("/u/acme", nameof(Surface.Pages))]
    [InlineData("/settings/tokens", nameof(Surface.Pages))]
    [InlineData("/static/berth.css", nameof(Surface.Pages))]
    public void Each_surface_owns_its_paths(string path, string surface) => Assert.Equal(surface, Router.Pick(path).ToString());

    [Theory]
    [InlineData("")]
    [InlineData("/foo")]
    [InlineData("/r")]
    [InlineData("/searchx")]
    [InlineData("/V2/")]
    [InlineData("/token/")]
    [InlineData("/tokens")]
    [InlineData("/api/v1")]
    [InlineData("/api/v2/users")]
    [InlineData("/v1/")]
    [InlineData("/v1/search/")]
    [InlineData("/v1/searchx")]
    [InlineData("/ui")]
    [InlineData("/ui/")]
    [InlineData("/healthz/")]
    [InlineData("/readyz/x")]
    public void Other_paths_belong_to_no_surface(string path) => Assert.Equal(Surface.None, Router.Pick(path));

    [Theory]
    [InlineData("/v2/../api/v1/me", nameof(Surface.Registry))]
    [InlineData("/v2/../token", nameof(Surface.Registry))]
    [InlineData("/v2/../v1/search", nameof(Surface.Registry))]
    [InlineData("/api/v1/../../token", nameof(Surface.Management))]
    [InlineData("/api/v1/../../v2/", nameof(Surface.Management))]
    [InlineData("/v1/search/../../v2/", nameof(Surface.None))]
    public void Dot_segments_stay_in_the_surface_of_the_prefix(string path, string surface) => Assert.Equal(surface, Router.Pick(path).ToString());
}
