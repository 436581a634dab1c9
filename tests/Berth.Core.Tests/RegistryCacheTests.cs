using System.Security.Cryptography;
using System.Text;
using Berth.Core.Registry;
using Xunit.Abstractions;

namespace Berth.Core.Tests;

/// <summary>The manifest cache and the bounded cache under it: hits, misses, invalidation, the byte bound, eviction.</summary>
[Collection(HeapMeasurements.Name)]
public sealed class RegistryCacheTests(ITestOutputHelper output)
{
    private static CachedManifest Manifest(string text)
    {
        var content = Encoding.UTF8.GetBytes(text);
        return new CachedManifest(Digest.FromHash("sha256", SHA256.HashData(content)), "application/vnd.oci.image.manifest.v1+json", content);
    }

    [Fact]
    public void AHitReturnsWhatWasAddedAndAMissLeavesNothing()
    {
        var cache = new RegistryCache();
        var m = Manifest("{\"a\":1}");
        Assert.True(cache.AddTag("team/app", "v1", m, cache.Ticket("team/app")));
        Assert.True(cache.AddManifest("team/app", m, cache.Ticket("team/app")));
        cache.AddBlobSize("team/app", m.Digest, 42, cache.Ticket("team/app"));
        Assert.Same(m, cache.GetTag("team/app", "v1"));
        Assert.Same(m, cache.GetManifest("team/app", m.Digest));
        Assert.Equal(42, cache.GetBlobSize("team/app", m.Digest));
        var bytes = cache.Bytes;

        for (var i = 0; i < 1000; i++)
        {
            Assert.Null(cache.GetTag($"missing/{i}", "latest"));
            Assert.Null(cache.GetTag("team/app", $"missing{i}"));
            Assert.Null(cache.GetManifest($"missing/{i}", m.Digest));
            _ = cache.Ticket($"missing/{i}");
        }
        Assert.Equal(3, cache.Count);
        Assert.Equal(bytes, cache.Bytes);
    }

    [Fact]
    public void InvalidateDropsTheRepositoryAndGivesBackItsBytes()
    {
        var cache = new RegistryCache();
        cache.AddTag("other", "v1", Manifest("other"), cache.Ticket("other"));
        var before = cache.Bytes;
        for (var i = 0; i < 50; i++) cache.AddTag("team/app", $"v{i}", Manifest($"m{i}"), cache.Ticket("team/app"));
        Assert.True(cache.Bytes > before);
        cache.Invalidate("team/app");
        Assert.Equal(before, cache.Bytes);
        Assert.Equal(1, cache.Count);
        Assert.Null(cache.GetTag("team/app", "v1"));
        Assert.NotNull(cache.GetTag("other", "v1"));
    }

    [Fact]
    public void AFillThatRacedWithAWriteIsRefused()
    {
        var cache = new RegistryCache();
        var ticket = cache.Ticket("team/app");
        // The reader read the database here; a push committed and invalidated before the reader could cache.
        cache.Invalidate("team/app");
        Assert.False(cache.AddTag("team/app", "latest", Manifest("old"), ticket));
        Assert.Null(cache.GetTag("team/app", "latest"));
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public void EachEntryIsChargedAtLeastWhatItHolds()
    {
        // Heap difference of 5,000 cached manifests (each its own objects, as loaded from disk) against the charge.
        const int n = 5000;
        var cache = new RegistryCache(1L << 30);
        var repos = Enumerable.Range(0, n).Select(i => $"ns{i}/app{i}").ToArray();
        var tags = Enumerable.Range(0, n).Select(i => $"v{i}.0.0").ToArray();
        GC.Collect();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < n; i++)
        {
            var manifest = Manifest(new string('x', 400) + i);
            cache.AddTag(repos[i], tags[i], manifest, cache.Ticket(repos[i]));
        }
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        // The repository and tag strings were made before the measurement, so the real cost is a bit above the heap growth.
        var held = heapAfter - heapBefore + repos.Sum(r => CacheCost.Of(r)) + tags.Sum(t => CacheCost.Of(t));
        output.WriteLine($"charged {cache.Bytes / n} bytes per entry, holds {held / n}");
        Assert.True(cache.Bytes >= held, $"charged {cache.Bytes / n} bytes per entry, holds {held / n}");
        Assert.True(cache.Bytes < 2 * held, $"charged {cache.Bytes / n} bytes per entry, holds {held / n}");
        GC.KeepAlive(cache);
    }

    [Fact]
    public async Task TheBoundIsNeverExceededUnderConcurrentFills()
    {
        const long max = 1L << 20;
        var cache = new RegistryCache(max);
        var stop = false;
        long worst = 0;
        var watcher = Task.Run(() =>
        {
            while (!Volatile.Read(ref stop)) worst = Math.Max(worst, cache.Bytes);
        });
        Parallel.For(0, 8, t =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var repo = $"storm{t}/r{i}";
                cache.AddTag(repo, "latest", Manifest($"{t}-{i}"), cache.Ticket(repo));
                if (i % 97 == 0) cache.Invalidate($"storm{t}/r{i / 2}");
            }
        });
        Volatile.Write(ref stop, true);
        await watcher;
        Assert.True(worst <= max, $"{worst} > {max}");
        Assert.True(cache.Bytes <= max);
        Assert.True(cache.Bytes > max / 2, "eviction should make room one entry at a time, not clear everything");
        Assert.True(cache.Count > 0);
    }

    [Fact]
    public void EvictionIsGradualAndKeepsTheHotEntries()
    {
        var one = Manifest("hot");
        var perEntry = BoundedCache<string, int>.EntryOverhead + one.Cost + 2 * CacheCost.Of("hot/r000") + 64;
        var cache = new RegistryCache(perEntry * 200);
        for (var i = 0; i < 10; i++) cache.AddTag($"hot/r{i:000}", "latest", Manifest($"hot{i}"), cache.Ticket($"hot/r{i:000}"));
        // A storm of one-off misses-turned-hits (each read once, when filled), the hot entries read between fills.
        for (var i = 0; i < 5000; i++)
        {
            cache.AddTag($"cold/r{i:0000}", "latest", Manifest($"cold{i}"), cache.Ticket($"cold/r{i:0000}"));
            for (var h = 0; h < 10; h++) Assert.NotNull(cache.GetTag($"hot/r{h:000}", "latest"));
        }
        Assert.True(cache.Count > 150, $"only {cache.Count} entries left: eviction is not gradual");
        Assert.True(cache.Bytes <= cache.MaxBytes);
    }

    [Fact]
    public void AFullCacheAdmitsAKeyOnItsSecondFillOnly()
    {
        var one = Manifest("m");
        var perEntry = BoundedCache<string, int>.EntryOverhead + one.Cost + CacheCost.Of("fill/r0000") + CacheCost.Of("latest");
        var cache = new RegistryCache(perEntry * 100);
        // Until full, every fill gets in.
        var i = 0;
        while (cache.AddTag($"fill/r{i:0000}", "latest", Manifest($"m{i}"), cache.Ticket($"fill/r{i:0000}"))) i++;
        Assert.True(cache.Count >= 90, $"{cache.Count} entries");
        // Full: a storm of one-off keys (misses spread over far more repositories than fit) leaves the entries alone.
        var refused = 0;
        for (var k = 0; k < 1000; k++)
        {
            if (!cache.AddTag($"spread/r{k:0000}", "latest", Manifest($"s{k}"), cache.Ticket($"spread/r{k:0000}"))) refused++;
        }
        Assert.True(refused > 900, $"only {refused} of 1000 one-off fills refused");
        // A key filled again soon after (a repository pulled twice) gets in on its second fill.
        Assert.False(cache.AddTag("hot/app", "latest", Manifest("hot"), cache.Ticket("hot/app")));
        Assert.True(cache.AddTag("hot/app", "latest", Manifest("hot"), cache.Ticket("hot/app")));
        Assert.NotNull(cache.GetTag("hot/app", "latest"));
        Assert.True(cache.Bytes <= cache.MaxBytes);
    }

    [Fact]
    public void TheHotPathAllocatesNothing()
    {
        var cache = new RegistryCache();
        var m = Manifest("{}");
        cache.AddTag("team/app", "latest", m, cache.Ticket("team/app"));
        Assert.Same(m, cache.GetTag("team/app", "latest"));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) _ = cache.GetTag("team/app", "latest");
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ExpiredEntriesAreMisses()
    {
        var cache = new BoundedCache<string, int>(1 << 20, StringComparer.Ordinal);
        Assert.True(cache.Set("a", 1, 32, expires: 100));
        Assert.True(cache.TryGet("a", 99, out var v) && v == 1);
        Assert.False(cache.TryGet("a", 100, out _));
    }

    [Fact]
    public void AnEntryLargerThanTheBoundIsRefused()
    {
        var cache = new BoundedCache<string, int>(1000, StringComparer.Ordinal);
        Assert.False(cache.Set("big", 1, 1000));
        Assert.Equal(0, cache.Bytes);
    }
}

/// <summary>Tests that measure the process's heap run alone: another test allocating meanwhile would count as theirs.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasurements
{
    public const string Name = "heap measurements";
}
