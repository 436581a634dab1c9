using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Tests.Support;

/// <summary>An image pushed by <see cref="RegistryClient.PushImageAsync"/>: its manifest and the two blobs it names.</summary>
internal sealed record Image(string Repository, string MediaType, byte[] Manifest, string Digest, Blob Config, Blob Layer)
{
    public JsonObject Descriptor() => Json.Descriptor(MediaType, Digest, Manifest.Length);
}

/// <summary>
/// HTTP against one running server. Every response passes <see cref="ProtocolCheck"/>, so no test can
/// see a 5xx, or a response without the API version header, and pass.
/// </summary>
internal sealed class RegistryClient(Uri baseAddress) : IDisposable
{
    private readonly HttpClient _http = new(new ProtocolCheck
    {
        InnerHandler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        },
    })
    { Timeout = TimeSpan.FromSeconds(100) };

    public Uri BaseAddress { get; } = baseAddress;

    /// <summary>Sent with every request built by this client (not with <see cref="SendAsync(HttpRequestMessage)"/>).</summary>
    public AuthenticationHeaderValue? Authorization { get; set; }

    public static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    /// <summary>The path is sent as written: no dot-segment removal or escaping by <see cref="Uri"/>.</summary>
    public Uri Url(string pathAndQuery) =>
        new(BaseAddress.GetLeftPart(UriPartial.Authority) + pathAndQuery, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content = null, string? accept = null)
    {
        var request = new HttpRequestMessage(method, Url(path)) { Content = content };
        request.Headers.Authorization = Authorization;
        if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
        return _http.SendAsync(request);
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => _http.SendAsync(request);

    public Task<HttpResponseMessage> GetAsync(string path, string? accept = null) => SendAsync(HttpMethod.Get, path, null, accept);

    public Task<HttpResponseMessage> HeadAsync(string path, string? accept = null) => SendAsync(HttpMethod.Head, path, null, accept);

    public Task<HttpResponseMessage> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path);

    /// <summary>A blob body, with an OCI-style <c>Content-Range: start-end</c> (which .NET's typed header cannot express).</summary>
    public static HttpContent Bytes(byte[] content, string? contentRange = null, string contentType = "application/octet-stream")
    {
        var body = new ByteArrayContent(content);
        body.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (contentRange is not null) Assert.True(body.Headers.TryAddWithoutValidation("Content-Range", contentRange));
        return body;
    }

    /// <summary>Monolithic upload (POST ?digest=).</summary>
    public async Task PushBlobAsync(string repository, Blob blob)
    {
        using var r = await SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={blob.Digest}", Bytes(blob.Content));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        Assert.Equal(blob.Digest, r.Header("Docker-Content-Digest"));
    }

    /// <summary>Opens an upload session and returns its Location.</summary>
    public async Task<string> StartUploadAsync(string repository)
    {
        using var r = await SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");
        Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        return r.Headers.Location?.OriginalString ?? throw new InvalidOperationException("no Location");
    }

    public async Task<string> PushManifestAsync(string repository, string reference, string mediaType, byte[] manifest)
    {
        using var r = await SendAsync(HttpMethod.Put, $"/v2/{repository}/manifests/{reference}", Bytes(manifest, contentType: mediaType));
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.Created, $"manifest PUT answered {(int)r.StatusCode}: {body}");
        var digest = Blob.Sha256(manifest);
        Assert.Equal(digest, r.Header("Docker-Content-Digest"));
        return digest;
    }

    public Task<string> PushManifestAsync(string repository, string reference, JsonObject manifest) =>
        PushManifestAsync(repository, reference, (string)manifest["mediaType"]!, Json.Bytes(manifest));

    /// <summary>
    /// Pushes a config, a layer and an image manifest (OCI or Docker schema 2) that no other test has pushed,
    /// tagged <paramref name="tag"/> or, without one, by digest.
    /// </summary>
    public async Task<Image> PushImageAsync(string repository, string? tag = null, string mediaType = MediaType.OciManifest)
    {
        var docker = mediaType == MediaType.DockerManifest;
        var config = Blob.Text($$"""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"id":"{{Guid.NewGuid()}}"}""");
        var layer = Blob.Random(1000);
        await PushBlobAsync(repository, config);
        await PushBlobAsync(repository, layer);
        var manifest = Json.Bytes(Json.ImageManifest(mediaType,
            config.Descriptor(docker ? MediaType.DockerConfig : MediaType.OciConfig),
            [layer.Descriptor(docker ? MediaType.DockerLayer : MediaType.OciLayer)]));
        var digest = await PushManifestAsync(repository, tag ?? Blob.Sha256(manifest), mediaType, manifest);
        return new Image(repository, mediaType, manifest, digest, config, layer);
    }

    /// <summary>
    /// One HTTP/1.1 request written to a socket by hand, for what HttpClient refuses to send (a body shorter than
    /// its Content-Length). Returns the status (0 when the server closed without answering) and the response head.
    /// </summary>
    public async Task<(int Status, string Head)> RawAsync(string requestHead, byte[] body, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(BaseAddress.Host, BaseAddress.Port, cts.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(requestHead.ReplaceLineEndings("\r\n") + "\r\n"), cts.Token);
        await stream.WriteAsync(body, cts.Token);
        await stream.FlushAsync(cts.Token);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0)
        {
            received.Write(buffer, 0, n);
            var text = Encoding.ASCII.GetString(received.GetBuffer(), 0, (int)received.Length);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0) return (int.Parse(text.AsSpan(9, 3)), text[..end]);
        }
        return (0, "");
    }

    /// <summary>
    /// One request whose target goes on the wire byte for byte as written (HttpClient and <see cref="Uri"/> may remove
    /// dot segments or re-escape), answered with Connection: close; returns the status, the response head and body.
    /// </summary>
    public async Task<(int Status, string Head, string Body)> SendRawAsync(string method, string target, byte[]? body = null, string? headers = null)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(BaseAddress.Host, BaseAddress.Port, cts.Token);
        var stream = tcp.GetStream();
        var head = $"{method} {target} HTTP/1.1\r\nHost: {BaseAddress.Authority}\r\nContent-Length: {body?.Length ?? 0}\r\nConnection: close\r\n" +
            (Authorization is null ? "" : $"Authorization: {Authorization}\r\n") + (headers ?? "") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cts.Token);
        if (body is not null) await stream.WriteAsync(body, cts.Token);
        var received = new MemoryStream();
        await stream.CopyToAsync(received, cts.Token);
        var text = Encoding.UTF8.GetString(received.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"{method} {target}: no response");
        return (int.Parse(text.AsSpan(9, 3)), text[..end], text[(end + 4)..]);
    }

    public void Dispose() => _http.Dispose();

    private sealed class ProtocolCheck : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if ((int)response.StatusCode >= 500)
            {
                Assert.Fail($"{request.Method} {request.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
            if (response.Header("Docker-Distribution-API-Version") != "registry/2.0")
            {
                Assert.Fail($"{request.Method} {request.RequestUri} answered without Docker-Distribution-API-Version: registry/2.0");
            }
            return response;
        }
    }
}

internal static class ResponseExtensions
{
    /// <summary>A header's value wherever HttpClient filed it (response or content headers); null when absent.</summary>
    public static string? Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    /// <summary>
    /// Asserts the status and the spec's error body, <c>{"errors":[{"code","message","detail"}]}</c>, with
    /// <paramref name="code"/> first; returns that error. HEAD responses have no body: only the status is checked.
    /// </summary>
    public static async Task<JsonElement> AssertErrorAsync(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {text}");
        if (response.RequestMessage?.Method == HttpMethod.Head) return default;
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        var errors = doc.RootElement.GetProperty("errors");
        Assert.Equal(JsonValueKind.Array, errors.ValueKind);
        Assert.NotEqual(0, errors.GetArrayLength());
        var error = errors[0];
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        if (error.TryGetProperty("detail", out var detail)) Assert.Equal(JsonValueKind.Object, detail.ValueKind);
        return error.Clone();
    }

    public static async Task<byte[]> BytesAsync(this HttpResponseMessage response) => await response.Content.ReadAsByteArrayAsync();
}
