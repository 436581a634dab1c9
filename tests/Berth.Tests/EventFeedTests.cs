using System.Diagnostics;
using System.Net;
using Berth.Configuration;
using Berth.Core;
using Berth.Hosting;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>
/// A change made by another process on the same data directory (as a CLI verb makes it: its own <see cref="Backends"/>)
/// reaches a running server's caches through the events outbox within about a second.
/// </summary>
public sealed class EventFeedTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(2);

    private Task<Backends> OtherProcessAsync() =>
        Backends.OpenAsync(new BerthOptions { Data = server.DataDirectory }, create: false, TimeProvider.System, [], CancellationToken.None);

    /// <summary>Asks until <paramref name="done"/> holds, up to <see cref="Deadline"/>; returns whether it did.</summary>
    private static async Task<bool> EventuallyAsync(Func<Task<bool>> done)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Deadline)
        {
            if (await done()) return true;
            await Task.Delay(50);
        }
        return await done();
    }

    [Fact]
    public async Task ATagMovedByAnotherProcessIsServedWithinTwoSeconds()
    {
        var one = await server.Client.PushImageAsync("feed/move", "prod");
        var two = await server.Client.PushImageAsync("feed/move", "candidate");
        // Served once, so the server has the tag cached.
        Assert.Equal(one.Digest, (await server.Client.GetAsync("/v2/feed/move/manifests/prod", one.MediaType)).Header("Docker-Content-Digest"));
        Assert.Equal(one.Digest, (await server.Client.GetAsync("/v2/feed/move/manifests/prod", one.MediaType)).Header("Docker-Content-Digest"));

        var other = await OtherProcessAsync();
        var manifest = Manifest.Parse(two.Manifest, two.MediaType, Digest.Parse(two.Digest));
        await other.Manifests.PutManifestAsync("feed/move", manifest, "prod", DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.True(await EventuallyAsync(async () =>
            (await server.Client.GetAsync("/v2/feed/move/manifests/prod", two.MediaType)).Header("Docker-Content-Digest") == two.Digest));
    }

    [Fact]
    public async Task AManifestDeletedByAnotherProcessIsGoneWithinTwoSeconds()
    {
        var image = await server.Client.PushImageAsync("feed/delete", "1.0");
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/feed/delete/manifests/1.0", image.MediaType)).StatusCode);

        var other = await OtherProcessAsync();
        Assert.True(await other.Manifests.DeleteManifestAsync("feed/delete", Digest.Parse(image.Digest), CancellationToken.None));

        Assert.True(await EventuallyAsync(async () =>
            (await server.Client.GetAsync("/v2/feed/delete/manifests/1.0", image.MediaType)).StatusCode == HttpStatusCode.NotFound));
    }
}
