using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Berth.Configuration;
using Berth.Core;
using Berth.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Berth.Tests;

/// <summary>A real Berth on a real Kestrel port (chosen by the system) over a temporary data directory.</summary>
public sealed class RegistryServer : IAsyncLifetime
{
    private WebApplication? _app;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("berth-e2e-").FullName;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync() => await StartAsync();

    public async Task StartAsync()
    {
        _app = await ServerHost.BuildAsync(new BerthOptions { Listen = "127.0.0.1:0", Data = DataDirectory, LogLevel = LogLevel.Warning });
        await _app.StartAsync();
        Http = new HttpClient { BaseAddress = new Uri(_app.Urls.Single()) };
    }

    /// <summary>Stops the server and starts a new one on the same data directory.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    private async Task StopAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }
}

/// <summary>Pushes and checks through the HTTP API only, as a client would.</summary>
public static class Api
{
    public static readonly string EmptyConfigDigest = Digest.Compute("{}"u8).ToString();

    public static string DigestOf(byte[] content) => Digest.Compute(content).ToString();

    public static byte[] RandomBytes(int size)
    {
        var data = new byte[size];
        Random.Shared.NextBytes(data);
        return data;
    }

    public static async Task<string> PushBlobAsync(this HttpClient http, string repository, byte[] content)
    {
        var digest = DigestOf(content);
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await http.PostAsync($"/v2/{repository}/blobs/uploads/?digest={digest}", body);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return digest;
    }

    public static Task<HttpResponseMessage> PutManifestAsync(this HttpClient http, string repository, string reference, string json, string? mediaType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        if (mediaType is not null) content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return http.PutAsync($"/v2/{repository}/manifests/{reference}", content);
    }

    /// <summary>Pushes a config and one layer, then an OCI image manifest; returns the manifest JSON and digest.</summary>
    public static async Task<(string Json, string Digest)> PushImageAsync(this HttpClient http, string repository, string tag, string mediaType = MediaTypes.OciManifest, string extra = "")
    {
        var json = await ImageJsonAsync(http, repository, mediaType, extra);
        using var response = await http.PutManifestAsync(repository, tag, json, mediaType);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return (json, DigestOf(Encoding.UTF8.GetBytes(json)));
    }

    /// <summary>Pushes the blobs of a new image and returns its manifest JSON (not pushed).</summary>
    public static async Task<string> ImageJsonAsync(this HttpClient http, string repository, string mediaType = MediaTypes.OciManifest, string extra = "")
    {
        var config = Encoding.UTF8.GetBytes($$"""{"architecture":"amd64","os":"linux","nonce":"{{Guid.NewGuid()}}"}""");
        var layer = RandomBytes(1000);
        var configDigest = await http.PushBlobAsync(repository, config);
        var layerDigest = await http.PushBlobAsync(repository, layer);
        var configType = mediaType == MediaTypes.DockerManifest ? "application/vnd.docker.container.image.v1+json" : "application/vnd.oci.image.config.v1+json";
        var layerType = mediaType == MediaTypes.DockerManifest ? "application/vnd.docker.image.rootfs.diff.tar.gzip" : "application/vnd.oci.image.layer.v1.tar+gzip";
        return $$"""{"schemaVersion":2,"mediaType":"{{mediaType}}","config":{"mediaType":"{{configType}}","digest":"{{configDigest}}","size":{{config.Length}}},"layers":[{"mediaType":"{{layerType}}","digest":"{{layerDigest}}","size":{{layer.Length}}}]{{extra}}}""";
    }

    /// <summary>Asserts the status and the spec's error body, and returns the error's detail (if any).</summary>
    public static async Task<JsonElement?> AssertErrorAsync(this HttpResponseMessage response, int status, string code)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = doc.RootElement.GetProperty("errors")[0];
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        return error.TryGetProperty("detail", out var detail) ? detail.Clone() : null;
    }

    public static string Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var content) ? string.Join(",", content)
        : throw new Xunit.Sdk.XunitException($"no {name} header in the {(int)response.StatusCode} response");
}
