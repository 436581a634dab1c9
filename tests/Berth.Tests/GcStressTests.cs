using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Registry;
using Berth.Core.Storage;
using Berth.Hosting;
using Berth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests;

/// <summary>A server whose garbage collection keeps nothing for grace (0s) and deletes untagged manifests; no schedule.</summary>
public class GcServer : RegistryServer
{
    protected override BerthOptions Configure(BerthOptions options) =>
        base.Configure(options) with { Gc = new GcSettings { Schedule = "off", Grace = TimeSpan.Zero, Untagged = "delete" } };

    internal Task<GcReport> CollectAsync(bool dryRun = false) =>
        Services.GetRequiredService<GarbageCollection>().RunExclusiveAsync(Services.GetRequiredService<GarbageCollection>().Options(dryRun), CancellationToken.None);

    /// <summary>Every blob file in storage, by digest.</summary>
    internal async Task<SortedSet<string>> StoredAsync()
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var b in Services.GetRequiredService<IBlobStore>().ListAsync(CancellationToken.None)) set.Add(b.Digest.ToString());
        return set;
    }
}

/// <summary>The same with its metadata on a scratch PostgreSQL database (blobs stay on the filesystem).</summary>
public sealed class PostgresGcServer : GcServer
{
    private ScratchDatabase? _database;

    public override async Task InitializeAsync()
    {
        _database = await ScratchDatabase.CreateAsync();
        await base.InitializeAsync();
    }

    protected override BerthOptions Configure(BerthOptions options) => base.Configure(options) with
    {
        Metadata = new MetadataOptions { Type = MetadataOptions.PostgresType, Postgres = new PostgresMetadataOptions { ConnectionString = _database!.ConnectionString } },
    };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null) await _database.DisposeAsync();
    }
}

/// <summary>
/// The invariant of online garbage collection under load (docs/architecture.md, "Garbage collection"): clients push new
/// images over a small shared pool of layers (so uploads keep deduplicating against blobs the collector is deleting),
/// move tags, roll tags back to older manifests that went untagged, and delete tags, while collection runs back to back
/// with grace 0 and untagged manifests deleted. Every acknowledged tag must pull completely at every moment, every
/// refusal must be a clean 4xx, and after a final collection storage must hold exactly what the tags reference.
/// </summary>
public abstract class GcStressTests<TServer>(TServer server, Xunit.Abstractions.ITestOutputHelper output) where TServer : GcServer
{
    private const int Clients = 4;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(20);
    private static readonly Blob[] Layers = Enumerable.Range(0, 6).Select(_ => Blob.Random(3000)).ToArray();

    private sealed record Pushed(string Digest, byte[] Manifest, Blob Config, Blob Layer);

    private sealed class Tally
    {
        public int Acknowledged, Refused, RolledBack, Deleted, Pulls;
        public readonly Dictionary<int, int> RefusedBy = [];
    }

    [Fact]
    public async Task AcknowledgedTagsSurviveCollectionRunningBackToBackAndStorageEndsExact()
    {
        using var stop = new CancellationTokenSource(Duration);
        var tally = new Tally();
        var models = new Dictionary<string, Pushed>[Clients];
        var collections = 0;
        var removed = 0;
        var collector = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var report = await server.CollectAsync();
                collections++;
                removed += report.BlobsRemoved + report.OrphanFilesRemoved;
                await Task.Delay(10);
            }
        });
        var clients = Enumerable.Range(0, Clients).Select(i => Task.Run(async () =>
        {
            models[i] = new Dictionary<string, Pushed>(StringComparer.Ordinal);
            using var http = server.NewClient();
            await ClientAsync(http, i, models[i], tally, stop.Token);
        })).ToList();
        await Task.WhenAll([.. clients, collector]);

        output.WriteLine($"{collections} collections removed {removed} blobs; {tally.Acknowledged} pushes acknowledged ({tally.RolledBack} roll-backs), " +
            $"{tally.Deleted} tags deleted, {tally.Pulls} pulls checked; refused: {string.Join(", ", tally.RefusedBy.Select(kv => $"{kv.Value} x {kv.Key}"))}");
        Assert.True(collections >= 5, $"only {collections} collections ran");
        Assert.True(tally.Acknowledged > 20, $"only {tally.Acknowledged} pushes were acknowledged");
        Assert.True(removed > 0, "collection never removed a blob while the clients ran");
        Assert.True(tally.RefusedBy.Keys.All(s => s is >= 400 and < 500), $"refusals: {string.Join(", ", tally.RefusedBy)}");

        // A final collection (nothing else runs): storage holds exactly the tagged manifests and their blobs.
        await server.CollectAsync();
        using var check = server.NewClient();
        var expected = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Clients; i++)
        {
            foreach (var (tag, pushed) in models[i])
            {
                await PullAsync(check, Repository(i), tag, pushed);
                expected.UnionWith([pushed.Digest, pushed.Config.Digest, pushed.Layer.Digest]);
            }
        }
        // A request the client gave up on when it stopped may still be finishing on the server (never acknowledged, so its
        // files are garbage): collect again while storage holds more than the tags reference, for a few seconds at most.
        var stored = await server.StoredAsync();
        for (var attempt = 0; attempt < 5 && !stored.SetEquals(expected) && stored.IsSupersetOf(expected); attempt++)
        {
            await Task.Delay(1000);
            await server.CollectAsync();
            stored = await server.StoredAsync();
        }
        Assert.Equal(expected, stored);
        foreach (var digest in stored)
        {
            var d = Digest.Parse(digest);
            var path = new StoragePaths(server.DataDirectory).Blob(d);
            Assert.Equal(digest, Blob.Sha256(await File.ReadAllBytesAsync(path)));
        }
        var dry = await server.CollectAsync(dryRun: true);
        Assert.Equal(0, dry.BlobsRemoved + dry.ManifestsRemoved + dry.LinksRemoved + dry.OrphanFilesRemoved);
    }

    private static string Repository(int client) => $"stress/r{client % 2}";

    private static async Task ClientAsync(RegistryClient http, int client, Dictionary<string, Pushed> model, Tally tally, CancellationToken stop)
    {
        var random = new Random(client * 7919 + 17);
        var history = new List<Pushed>();
        var repository = Repository(client);
        while (!stop.IsCancellationRequested)
        {
            var tag = $"c{client}-t{random.Next(4)}";
            var op = random.Next(10);
            if (op < 5 || history.Count == 0)
            {
                var config = Blob.Text($$"""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"id":"{{Guid.NewGuid()}}"}""");
                var layer = Layers[random.Next(Layers.Length)];
                var manifest = Json.Bytes(Json.ImageManifest(MediaType.OciManifest, config.Descriptor(MediaType.OciConfig), [layer.Descriptor(MediaType.OciLayer)]));
                var pushed = new Pushed(Blob.Sha256(manifest), manifest, config, layer);
                if (await PushAsync(http, repository, tag, pushed, tally))
                {
                    model[tag] = pushed;
                    history.Add(pushed);
                }
            }
            else if (op < 8)
            {
                // Roll back: an older manifest, most likely untagged by now (and maybe collected), by tag again.
                var old = history[random.Next(history.Count)];
                if (await PushAsync(http, repository, tag, old, tally))
                {
                    model[tag] = old;
                    Interlocked.Increment(ref tally.RolledBack);
                }
            }
            else if (model.ContainsKey(tag))
            {
                using var r = await http.DeleteAsync($"/v2/{repository}/manifests/{tag}");
                Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
                model.Remove(tag);
                Interlocked.Increment(ref tally.Deleted);
            }
            // Whatever was acknowledged pulls whole, at any moment.
            foreach (var (t, p) in model.Take(2)) await PullAsync(http, repository, t, p);
            Interlocked.Add(ref tally.Pulls, Math.Min(2, model.Count));
        }
    }

    /// <summary>
    /// Pushes as a client does: the manifest first (its blobs may still be there), else the blobs and the manifest again,
    /// retrying refusals, which must be 4xx. True once acknowledged.
    /// </summary>
    private static async Task<bool> PushAsync(RegistryClient http, string repository, string tag, Pushed pushed, Tally tally)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            if (attempt > 0 || pushed.Manifest.Length % 2 == 0)
            {
                if (!await BlobAsync(http, repository, pushed.Config, tally) || !await BlobAsync(http, repository, pushed.Layer, tally)) continue;
            }
            using var r = await http.SendAsync(HttpMethod.Put, $"/v2/{repository}/manifests/{tag}", RegistryClient.Bytes(pushed.Manifest, contentType: MediaType.OciManifest));
            if (r.StatusCode == HttpStatusCode.Created)
            {
                Assert.Equal(pushed.Digest, r.Header("Docker-Content-Digest"));
                Interlocked.Increment(ref tally.Acknowledged);
                return true;
            }
            Refused(tally, r.StatusCode);
        }
        return false;
    }

    private static async Task<bool> BlobAsync(RegistryClient http, string repository, Blob blob, Tally tally)
    {
        using var r = await http.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={blob.Digest}", RegistryClient.Bytes(blob.Content));
        if (r.StatusCode == HttpStatusCode.Created) return true;
        Refused(tally, r.StatusCode);
        return false;
    }

    private static void Refused(Tally tally, HttpStatusCode status)
    {
        Interlocked.Increment(ref tally.Refused);
        lock (tally.RefusedBy) tally.RefusedBy[(int)status] = tally.RefusedBy.GetValueOrDefault((int)status) + 1;
    }

    private static async Task PullAsync(RegistryClient http, string repository, string tag, Pushed pushed)
    {
        using (var m = await http.GetAsync($"/v2/{repository}/manifests/{tag}", MediaType.OciManifest))
        {
            Assert.True(m.StatusCode == HttpStatusCode.OK, $"{repository}:{tag} ({pushed.Digest}) answered {(int)m.StatusCode}");
            Assert.Equal(pushed.Manifest, await m.BytesAsync());
        }
        foreach (var blob in new[] { pushed.Config, pushed.Layer })
        {
            using var b = await http.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");
            Assert.True(b.StatusCode == HttpStatusCode.OK, $"{repository}:{tag} blob {blob.Digest} answered {(int)b.StatusCode}");
            Assert.Equal(blob.Digest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await b.BytesAsync())));
        }
    }
}

public sealed class SqliteGcStressTests(GcServer server, Xunit.Abstractions.ITestOutputHelper output) : GcStressTests<GcServer>(server, output), IClassFixture<GcServer>;

public sealed class PostgresGcStressTests(PostgresGcServer server, Xunit.Abstractions.ITestOutputHelper output) : GcStressTests<PostgresGcServer>(server, output), IClassFixture<PostgresGcServer>;
