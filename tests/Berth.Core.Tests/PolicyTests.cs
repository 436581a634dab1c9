using System.Text;
using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Policies;

namespace Berth.Core.Tests;

public sealed class PolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static Digest D(string s) => Digest.Compute(Encoding.UTF8.GetBytes(s));

    [Theory]
    [InlineData("v*", "v1.2", true)]
    [InlineData("v*", "1.2", false)]
    [InlineData("*", "", true)]
    [InlineData("*", "latest", true)]
    [InlineData("release-?", "release-1", true)]
    [InlineData("release-?", "release-10", false)]
    [InlineData("*-rc*", "1.0-rc2", true)]
    [InlineData("*-rc*", "1.0", false)]
    [InlineData("a*b*c", "aXbYbZc", true)]
    [InlineData("a*b*c", "aXbYbZ", false)]
    [InlineData("latest", "Latest", false)]
    public void TagGlobs(string pattern, string tag, bool matches) => Assert.Equal(matches, TagPattern.Matches(pattern, tag));

    [Fact]
    public void ImmutableExceptions()
    {
        var policy = new ImmutableTagsPolicy(["*"], ["latest", "dev-*"]);
        Assert.Equal("*", policy.Match("1.0"));
        Assert.Null(policy.Match("latest"));
        Assert.Null(policy.Match("dev-x"));
        var e = Assert.Throws<RegistryException>(() => TagImmutability.Check("acme/app", "1.0", [("acme/", """{"patterns":["*"],"except":["latest"]}""")], deleting: true));
        Assert.Equal(ErrorCode.Denied, e.Code);
        Assert.Equal("tag 1.0 of acme/app is immutable (pattern \"*\" of the immutable-tags policy of namespace acme) and cannot be deleted", e.Message);
        TagImmutability.Check("acme/app", "latest", [("acme/", """{"patterns":["*"],"except":["latest"]}""")], deleting: false);
    }

    private static TagDetail Tag(string name, double hoursAgo, double? pulledHoursAgo = null) =>
        new(name, D(name), Now.AddHours(-hoursAgo), pulledHoursAgo is { } p ? Now.AddHours(-p) : null, 0);

    private static List<string> Plan(RetentionPolicy policy, IReadOnlyList<TagDetail> tags, IReadOnlyList<string>? protect = null, IReadOnlyList<ImmutableTagsPolicy>? immutable = null) =>
        [.. RetentionService.Plan("acme/app", policy, protect ?? policy.Protect ?? [], immutable ?? [], tags, Now).Select(r => r.Tag).Order(StringComparer.Ordinal)];

    [Fact]
    public void RetentionPlans()
    {
        TagDetail[] tags = [Tag("a", 50), Tag("b", 40, pulledHoursAgo: 1), Tag("c", 30), Tag("release-1", 60), Tag("v1", 70), Tag("new", 1)];
        Assert.Empty(Plan(new RetentionPolicy(), tags));
        Assert.Empty(Plan(new RetentionPolicy(KeepPatterns: ["*"]), tags));
        // The last 2 by push time (new, c) stay; release-1 is protected; v1 immutable.
        Assert.Equal(["a", "b"], Plan(new RetentionPolicy(KeepLast: 2, Protect: ["release-*"]), tags, immutable: [new ImmutableTagsPolicy(["v*"])]));
        Assert.Equal(["a", "b", "release-1", "v1"], Plan(new RetentionPolicy(KeepLast: 2), tags));
        // Ages: pushed more than 45 h ago, or not pulled for 35 h (never pulled counts from the push).
        Assert.Equal(["a", "release-1", "v1"], Plan(new RetentionPolicy(OlderThan: "45h"), tags));
        Assert.Equal(["a", "release-1", "v1"], Plan(new RetentionPolicy(NotPulledFor: "35h", KeepPatterns: ["c"]), tags));
        Assert.Equal(["release-1", "v1"], Plan(new RetentionPolicy(KeepLast: 4, OlderThan: "45h"), tags));
        Assert.Equal(["v1"], Plan(new RetentionPolicy(OlderThan: "45h"), tags, protect: ["a", "release-*"]));
    }

    [Theory]
    [InlineData("immutable-tags", """{"patterns":[]}""", "at least one pattern")]
    [InlineData("immutable-tags", """{"patterns":["v/1"]}""", "is not a tag pattern")]
    [InlineData("immutable-tags", """{"pattern":["v*"]}""", "not valid")]
    [InlineData("retention", """{"keepLast":-1}""", "keepLast")]
    [InlineData("retention", """{"olderThan":"soon"}""", "olderThan")]
    [InlineData("quota", """{"bytes":-5}""", "bytes")]
    [InlineData("quota", "[1]", "not valid")]
    [InlineData("other", "{}", "unknown policy kind")]
    public void InvalidDocumentsAreRefusedWithTheirMistake(string kind, string body, string mistake)
    {
        var e = Assert.Throws<RegistryException>(() => PolicyJson.Validate(kind, body));
        Assert.Equal(ErrorCode.InvalidRequest, e.Code);
        Assert.Contains(mistake, e.Message);
    }

    [Fact]
    public void ValidDocumentsAreStoredCanonical() =>
        Assert.Equal("""{"keepLast":3,"protect":["r*"]}""", PolicyJson.Validate("retention", """ { "protect": ["r*"], "keepLast": 3 } """));

    private sealed class RecordingStatistics : ITagStatistics
    {
        public readonly List<List<PullCount>> Flushes = [];
        public bool Fail;

        public Task RecordPullsAsync(IReadOnlyCollection<PullCount> pulls, CancellationToken ct)
        {
            if (Fail) throw new InvalidOperationException("database down");
            Flushes.Add([.. pulls]);
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<TagDetail>?> ListTagDetailsAsync(string repository, string? last, int limit, CancellationToken ct) => throw new NotSupportedException();
    }

    [Fact]
    public async Task PullsAreCountedInMemoryAndFlushedInBatches()
    {
        var store = new RecordingStatistics();
        var pulls = new PullStatistics(store, TimeProvider.System, maxEntries: 3);
        var digest = D("m");
        for (var i = 0; i < 5; i++) pulls.Record("acme/app", "1.0", digest);
        pulls.Record("acme/app", null, digest);
        pulls.Record("acme/other", "1.0", digest);
        pulls.Record("acme/full", "x", digest); // a fourth key: over the bound
        Assert.Equal(1, pulls.Dropped);
        Assert.Equal(3, pulls.Pending);

        store.Fail = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => pulls.FlushAsync(CancellationToken.None));
        pulls.Record("acme/app", "1.0", digest);
        store.Fail = false;
        Assert.Equal(3, await pulls.FlushAsync(CancellationToken.None));
        var flushed = Assert.Single(store.Flushes);
        Assert.Equal(6, flushed.Single(p => p is { Repository: "acme/app", Tag: "1.0" }).Count);
        Assert.Equal(1, flushed.Single(p => p is { Repository: "acme/app", Tag: null }).Count);

        // Nothing new: nothing written, and idle keys leave memory.
        Assert.Equal(0, await pulls.FlushAsync(CancellationToken.None));
        Assert.Equal(0, pulls.Pending);
        Assert.Single(store.Flushes);
    }

    [Fact]
    public void RecordingAKnownKeyAllocatesNothing()
    {
        var pulls = new PullStatistics(new RecordingStatistics(), TimeProvider.System);
        var digest = D("m");
        pulls.Record("acme/app", "1.0", digest);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) pulls.Record("acme/app", "1.0", digest);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
