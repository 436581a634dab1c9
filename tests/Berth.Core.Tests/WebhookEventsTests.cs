using Berth.Core.Metadata;
using Berth.Core.Webhooks;

namespace Berth.Core.Tests;

public sealed class WebhookEventsTests
{
    [Theory]
    [InlineData("", "any/thing", true)]
    [InlineData("team/app", "team/app", true)]
    [InlineData("team/app", "team/app2", false)]
    [InlineData("team/*", "team/app", true)]
    [InlineData("team/*", "team/app/sub", false)]
    [InlineData("team/**", "team/app/sub", true)]
    [InlineData("team/**", "team", false)]
    [InlineData("team/app-*", "team/app-web", true)]
    [InlineData("team/app-*", "team/api-web", false)]
    [InlineData("*/app", "team/app", true)]
    [InlineData("*/app", "a/b/app", false)]
    [InlineData("**/app", "a/b/app", true)]
    [InlineData("**", "x", true)]
    [InlineData("*", "a/b", false)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "axxbyy", false)]
    public void PatternsMatchWithinAndAcrossComponents(string pattern, string repository, bool matches) =>
        Assert.Equal(matches, WebhookEvents.Matches(pattern, repository));

    [Fact]
    public void AHostilePatternCostsItsSizeNotAnExponent()
    {
        // With backtracking, this pattern against this name takes exponential time; as a set of states it is linear.
        var pattern = string.Concat(Enumerable.Repeat("a*", 100)) + "b";
        var name = new string('a', 200);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(WebhookEvents.Matches(pattern, name));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }

    [Fact]
    public void EachSubscriptionCoversItsKinds()
    {
        Assert.Equal("push", WebhookEvents.SubscriptionOf(EventKinds.ManifestPut));
        Assert.Equal("delete", WebhookEvents.SubscriptionOf(EventKinds.ManifestDelete));
        Assert.Equal("delete", WebhookEvents.SubscriptionOf(EventKinds.TagDelete));
        Assert.Equal("tag", WebhookEvents.SubscriptionOf(EventKinds.TagMove));
        Assert.Equal("pull", WebhookEvents.SubscriptionOf("manifest.pull"));
        Assert.Equal("quota", WebhookEvents.SubscriptionOf("quota.exceeded"));
        Assert.Null(WebhookEvents.SubscriptionOf(EventKinds.AccountChange));
        Assert.Null(WebhookEvents.SubscriptionOf(EventKinds.BlobUpload));
    }
}
