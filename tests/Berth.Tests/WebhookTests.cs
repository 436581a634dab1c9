using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Configuration;
using Berth.Tests.Access;
using Berth.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Berth.Tests;

/// <summary>
/// A webhook receiver on 127.0.0.1: Kestrel on a port that stays the same across <see cref="StopAsync"/> and
/// <see cref="StartAsync"/>, recording every body with whether its X-Berth-Signature is the HMAC-SHA256 of the body
/// under <see cref="Secret"/>.
/// </summary>
internal sealed class HookReceiver : IAsyncDisposable
{
    public const string Secret = "receiver-secret-0123456789";

    public sealed record Received(string Body, bool SignatureValid, string? ContentType, string? EventHeader);

    private WebApplication? _app;

    public int Port { get; private set; }

    public ConcurrentQueue<Received> All { get; } = new();

    public string Url => $"http://127.0.0.1:{Port}/hook";

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port));
        var app = builder.Build();
        app.Run(async ctx =>
        {
            using var buffer = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), body));
            var signature = ctx.Request.Headers["X-Berth-Signature"].ToString();
            All.Enqueue(new Received(Encoding.UTF8.GetString(body), CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)),
                ctx.Request.ContentType, ctx.Request.Headers["X-Berth-Event"].ToString()));
            ctx.Response.StatusCode = 200;
        });
        await app.StartAsync();
        Port = new Uri(Assert.Single(app.Urls)).Port;
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>Every event received, as (id, action, repository, tag, the whole event).</summary>
    public List<(string Id, string Action, string? Repository, string? Tag, JsonElement Event, Received From)> Events() =>
        All.SelectMany(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("events").EnumerateArray().Select(e => (
            e.GetProperty("id").GetString()!, e.GetProperty("action").GetString()!,
            e.GetProperty("target").TryGetProperty("repository", out var repo) ? repo.GetString() : null,
            e.GetProperty("target").TryGetProperty("tag", out var tag) ? tag.GetString() : null, e.Clone(), r))).ToList();
}

/// <summary>Authentication on, webhook retries 1 s apart.</summary>
public class WebhookServer : AuthServer
{
    protected override BerthOptions Configure(BerthOptions options) => base.Configure(options) with
    {
        PublicUrl = "http://registry.example.test",
        Observability = options.Observability with { WebhookMaxBackoff = TimeSpan.FromSeconds(1), WebhookMaxAttempts = 100 },
    };

    /// <summary>Writes an event straight into the outbox, as another part of the registry (pulls, quotas) will.</summary>
    public virtual async Task AppendEventAsync(string kind, string repository, string? digest, string? tag, string actor)
    {
        await using var c = new SqliteConnection($"Data Source={Path.Combine(DataDirectory, "berth.db")};Pooling=false");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO events (time, kind, repository, digest, tag, actor) VALUES ($t, $k, $r, $d, $g, $a)";
        cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$k", kind);
        cmd.Parameters.AddWithValue("$r", repository);
        cmd.Parameters.AddWithValue("$d", (object?)digest ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$g", (object?)tag ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$a", actor);
        await cmd.ExecuteNonQueryAsync();
    }
}

/// <summary>The same, with metadata on a scratch PostgreSQL database (blobs on the filesystem).</summary>
public sealed class PostgresWebhookServer : WebhookServer
{
    private ScratchDatabase? _database;

    public override async Task InitializeAsync()
    {
        _database = await ScratchDatabase.CreateAsync();
        await base.InitializeAsync();
    }

    protected override BerthOptions Configure(BerthOptions options)
    {
        var o = base.Configure(options);
        return o with { Metadata = o.Metadata with { Type = MetadataOptions.PostgresType, Postgres = o.Metadata.Postgres with { ConnectionString = _database!.ConnectionString } } };
    }

    public override async Task AppendEventAsync(string kind, string repository, string? digest, string? tag, string actor)
    {
        await using var c = new NpgsqlConnection(_database!.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("INSERT INTO events (time, kind, repository, digest, tag, actor) VALUES (@t, @k, @r, @d, @g, @a)", c);
        cmd.Parameters.AddWithValue("t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("k", kind);
        cmd.Parameters.AddWithValue("r", repository);
        cmd.Parameters.AddWithValue("d", (object?)digest ?? DBNull.Value);
        cmd.Parameters.AddWithValue("g", (object?)tag ?? DBNull.Value);
        cmd.Parameters.AddWithValue("a", actor);
        await cmd.ExecuteNonQueryAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null) await _database.DisposeAsync();
    }
}

public sealed class SqliteWebhookTests(WebhookServer server) : WebhookScenario(server), IClassFixture<WebhookServer>;

public sealed class PostgresWebhookTests(PostgresWebhookServer server) : WebhookScenario(server), IClassFixture<PostgresWebhookServer>;

/// <summary>Webhooks end to end, on each metadata backend.</summary>
public abstract class WebhookScenario(WebhookServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static async Task Until(Func<Task<bool>> done, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {Patience.TotalSeconds} s for {what}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task EventsSurviveADownReceiverAndARestartSignedOnceEachWithStableIds()
    {
        await using var receiver = new HookReceiver();
        await receiver.StartAsync();
        using var admin = server.Admin();
        var created = (await AuthServer.ApiAsync(admin, HttpMethod.Post, "webhooks",
            $$"""{"url":"{{receiver.Url}}","secret":"{{HookReceiver.Secret}}","events":["push","delete","tag","pull","quota"],"repositories":"hooks/**"}""",
            HttpStatusCode.Created))!.Value;
        var id = created.GetProperty("id").GetInt64();
        Assert.Equal(HookReceiver.Secret, created.GetProperty("secret").GetString());
        var listed = (await AuthServer.ApiAsync(admin, HttpMethod.Get, "webhooks"))!.Value;
        Assert.Contains(listed.EnumerateArray(), h => h.GetProperty("id").GetInt64() == id);
        Assert.All(listed.EnumerateArray(), h => Assert.False(h.TryGetProperty("secret", out _), "the secret is shown once"));

        // Receiver up: a push arrives signed, in distribution's envelope, with who pushed it through which request.
        var first = await admin.PushImageAsync("hooks/app", "v1");
        await Until(() => Task.FromResult(receiver.Events().Any(e => e.Action == "push" && e.Tag == "v1")), "the first push");
        var push = receiver.Events().Single(e => e.Action == "push" && e.Tag == "v1");
        Assert.True(push.From.SignatureValid);
        Assert.Equal("application/vnd.docker.distribution.events.v1+json", push.From.ContentType);
        Assert.Equal("manifest.put", push.From.EventHeader);
        var target = push.Event.GetProperty("target");
        Assert.Equal((first.Digest, first.MediaType, (long)first.Manifest.Length, "hooks/app"),
            (target.GetProperty("digest").GetString(), target.GetProperty("mediaType").GetString(), target.GetProperty("size").GetInt64(), target.GetProperty("repository").GetString()));
        Assert.Equal($"http://registry.example.test/v2/hooks/app/manifests/{first.Digest}", target.GetProperty("url").GetString());
        Assert.Equal("admin", push.Event.GetProperty("actor").GetProperty("name").GetString());
        Assert.Equal("PUT", push.Event.GetProperty("request").GetProperty("method").GetString());
        Assert.False(string.IsNullOrEmpty(push.Event.GetProperty("request").GetProperty("id").GetString()));
        Assert.Equal("127.0.0.1", push.Event.GetProperty("request").GetProperty("addr").GetString());
        Assert.False(string.IsNullOrEmpty(push.Event.GetProperty("source").GetProperty("instanceID").GetString()));

        // Receiver down: a tag moved, a new tag, a tag deleted, a pull and a quota refusal written by other parts, and a
        // push the pattern does not match.
        await receiver.StopAsync();
        var second = await admin.PushImageAsync("hooks/app", "v1");
        await admin.PushImageAsync("hooks/app", "v2");
        using (var r = await admin.DeleteAsync("/v2/hooks/app/manifests/v2")) Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        await server.AppendEventAsync("manifest.pull", "hooks/app", second.Digest, "v1", "puller");
        await server.AppendEventAsync("quota.exceeded", "hooks/app", null, null, "admin");
        await admin.PushImageAsync("other/app", "v1");
        await Until(async () =>
        {
            var log = (await AuthServer.ApiAsync(admin, HttpMethod.Get, $"webhooks/{id}/deliveries"))!.Value;
            return log.EnumerateArray().Count(d => d.GetProperty("state").GetString() == "pending" && d.GetProperty("attempts").GetInt32() >= 2) >= 5;
        }, "failed attempts while the receiver is down");
        var pending = (await AuthServer.ApiAsync(admin, HttpMethod.Get, $"webhooks/{id}/deliveries"))!.Value.EnumerateArray()
            .First(d => d.GetProperty("state").GetString() == "pending");
        Assert.Contains("127.0.0.1", pending.GetProperty("lastError").GetString());

        // The server restarts while they wait, then the receiver comes back: everything arrives.
        await server.StopAsync();
        await server.StartAsync();
        using var admin2 = server.Admin();
        await receiver.StartAsync();
        await Until(async () =>
        {
            var log = (await AuthServer.ApiAsync(admin2, HttpMethod.Get, $"webhooks/{id}/deliveries"))!.Value;
            return log.EnumerateArray().All(d => d.GetProperty("state").GetString() == "delivered");
        }, "every delivery after the restart");

        var events = receiver.Events();
        Assert.All(receiver.All, r => Assert.True(r.SignatureValid));
        Assert.DoesNotContain(events, e => e.Repository == "other/app");
        // At least once: a repeat carries the same id and the same body.
        foreach (var group in events.GroupBy(e => e.Id)) Assert.Single(group.Select(e => e.From.Body).Distinct());
        var byAction = events.DistinctBy(e => e.Id).GroupBy(e => e.Action).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(3, byAction["push"]);
        Assert.Equal(1, byAction["tag"]);
        Assert.Equal(1, byAction["delete"]);
        Assert.Equal(1, byAction["pull"]);
        Assert.Equal(1, byAction["quota"]);
        var moved = events.First(e => e.Action == "tag");
        Assert.Equal((second.Digest, "v1"), (moved.Event.GetProperty("target").GetProperty("digest").GetString(), moved.Tag));
        var pulled = events.First(e => e.Action == "pull");
        Assert.Equal("puller", pulled.Event.GetProperty("actor").GetProperty("name").GetString());
        var log2 = (await AuthServer.ApiAsync(admin2, HttpMethod.Get, $"webhooks/{id}/deliveries"))!.Value;
        Assert.Equal(7, log2.GetArrayLength());
        Assert.Contains(log2.EnumerateArray(), d => d.GetProperty("attempts").GetInt32() >= 3 && d.GetProperty("lastStatus").GetInt32() == 200);

        // The test-delivery call sends one made-up event now.
        var test = (await AuthServer.ApiAsync(admin2, HttpMethod.Post, $"webhooks/{id}/test"))!.Value;
        Assert.True(test.GetProperty("delivered").GetBoolean());
        Assert.Contains(receiver.Events(), e => e.Action == "test" && e.From.SignatureValid);

        await AuthServer.ApiAsync(admin2, HttpMethod.Delete, $"webhooks/{id}", expect: HttpStatusCode.NoContent);
        await AuthServer.ApiAsync(admin2, HttpMethod.Get, $"webhooks/{id}", expect: HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task NamespaceAdministratorsManageTheirOwnHooksOnly()
    {
        using var admin = server.Admin();
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"hookbob","password":"hookbob-password"}""", HttpStatusCode.Created);
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"hookeve","password":"hookeve-password"}""", HttpStatusCode.Created);
        using var bob = server.As("hookbob", "hookbob-password");
        using var eve = server.As("hookeve", "hookeve-password");
        const string hook = """{"url":"http://127.0.0.1:9/x","events":["push"]}""";

        var own = (await AuthServer.ApiAsync(bob, HttpMethod.Post, "namespaces/hookbob/webhooks", hook, HttpStatusCode.Created))!.Value;
        var id = own.GetProperty("id").GetInt64();
        Assert.Equal("hookbob", own.GetProperty("namespace").GetString());
        Assert.True(own.GetProperty("secret").GetString()!.Length >= 32, "a secret is made when none is given");
        var site = (await AuthServer.ApiAsync(admin, HttpMethod.Post, "webhooks", hook, HttpStatusCode.Created))!.Value.GetProperty("id").GetInt64();

        await AuthServer.ApiAsync(bob, HttpMethod.Post, "webhooks", hook, HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(bob, HttpMethod.Get, "webhooks", expect: HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(eve, HttpMethod.Post, "namespaces/hookbob/webhooks", hook, HttpStatusCode.Forbidden);
        // Another namespace's hook and a site-wide one answer like missing ones.
        await AuthServer.ApiAsync(eve, HttpMethod.Get, $"webhooks/{id}", expect: HttpStatusCode.NotFound);
        await AuthServer.ApiAsync(eve, HttpMethod.Delete, $"webhooks/{id}", expect: HttpStatusCode.NotFound);
        await AuthServer.ApiAsync(eve, HttpMethod.Post, $"webhooks/{id}/test", expect: HttpStatusCode.NotFound);
        await AuthServer.ApiAsync(bob, HttpMethod.Get, $"webhooks/{site}", expect: HttpStatusCode.NotFound);
        using (var anonymous = server.NewClient()) await AuthServer.ApiAsync(anonymous, HttpMethod.Get, $"webhooks/{id}", expect: HttpStatusCode.Unauthorized);

        var mine = (await AuthServer.ApiAsync(bob, HttpMethod.Get, "namespaces/hookbob/webhooks"))!.Value;
        Assert.Equal([id], mine.EnumerateArray().Select(h => h.GetProperty("id").GetInt64()));
        Assert.Equal(id, (await AuthServer.ApiAsync(admin, HttpMethod.Get, $"webhooks/{id}"))!.Value.GetProperty("id").GetInt64());

        foreach (var bad in new[]
        {
            """{"url":"ftp://127.0.0.1/x","events":["push"]}""", """{"url":"http://user:pw@127.0.0.1/x","events":["push"]}""",
            """{"url":"http://127.0.0.1/x","events":["pushed"]}""", """{"url":"http://127.0.0.1/x","events":[]}""",
            """{"url":"http://127.0.0.1/x","events":["push"],"secret":"short"}""", """{"events":["push"]}""",
        })
        {
            await AuthServer.ApiAsync(bob, HttpMethod.Post, "namespaces/hookbob/webhooks", bad, HttpStatusCode.BadRequest);
        }
        await AuthServer.ApiAsync(bob, HttpMethod.Delete, $"webhooks/{id}", expect: HttpStatusCode.NoContent);
        await AuthServer.ApiAsync(admin, HttpMethod.Delete, $"webhooks/{site}", expect: HttpStatusCode.NoContent);
    }
}

/// <summary>Site-wide hooks declared in configuration (<c>ObservabilityOptions.Webhooks</c>).</summary>
public sealed class ConfiguredWebhookTests
{
    [Fact]
    public async Task DeclaredHooksDeliverAreShownAsConfiguredAndFollowTheConfiguration()
    {
        await using var receiver = new HookReceiver();
        await receiver.StartAsync();
        var data = Directory.CreateTempSubdirectory("berth-hooks-").FullName;
        BerthOptions Options(params ConfiguredWebhook[] hooks) => new()
        {
            Listen = "127.0.0.1:0",
            Data = data,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
            Observability = new ObservabilityOptions { Webhooks = hooks, WebhookMaxBackoff = TimeSpan.FromSeconds(1) },
            Auth = new AuthOptions { AdminPassword = AuthServer.AdminPassword },
        };
        async Task<WebApplication> StartAsync(BerthOptions options)
        {
            var app = await Berth.Hosting.ServerHost.BuildAsync(options, TimeProvider.System);
            await app.StartAsync();
            return app;
        }
        var declared = new ConfiguredWebhook(receiver.Url, HookReceiver.Secret, ["push"], "conf/**");
        var app = await StartAsync(Options(declared, new ConfiguredWebhook("ftp://nowhere/x", HookReceiver.Secret, ["push"])));
        try
        {
            using var client = new RegistryClient(new Uri(Assert.Single(app.Urls))) { Authorization = RegistryClient.Basic("admin", AuthServer.AdminPassword) };
            await client.PushImageAsync("conf/app", "v1");
            await client.PushImageAsync("elsewhere/app", "v1");
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!receiver.Events().Any(e => e.Action == "push" && e.Repository == "conf/app"))
            {
                Assert.True(DateTime.UtcNow < deadline, "no delivery of the declared hook");
                await Task.Delay(200);
            }
            Assert.All(receiver.All, r => Assert.True(r.SignatureValid));
            Assert.DoesNotContain(receiver.Events(), e => e.Repository == "elsewhere/app");
            // The list shows the one valid declared hook, which the API cannot delete.
            var list = await (await client.GetAsync("/api/v1/webhooks")).JsonAsync();
            var hook = Assert.Single(list.EnumerateArray());
            Assert.True(hook.GetProperty("configured").GetBoolean());
            Assert.False(hook.TryGetProperty("secret", out _));
            using var refused = await client.DeleteAsync($"/api/v1/webhooks/{hook.GetProperty("id").GetInt64()}");
            await refused.AssertErrorAsync(HttpStatusCode.Conflict, "CONFLICT");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        // Started again without it: the stored hook goes with its deliveries.
        app = await StartAsync(Options());
        try
        {
            using var client = new RegistryClient(new Uri(Assert.Single(app.Urls))) { Authorization = RegistryClient.Basic("admin", AuthServer.AdminPassword) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await (await client.GetAsync("/api/v1/webhooks")).JsonAsync()).GetArrayLength() > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the declared hook stayed after it left the configuration");
                await Task.Delay(200);
            }
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Directory.Delete(data, recursive: true);
        }
    }
}
