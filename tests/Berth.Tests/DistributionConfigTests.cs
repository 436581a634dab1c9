using Berth.Configuration;

namespace Berth.Tests;

/// <summary>distribution's (registry:2) configuration file read by <see cref="ConfigLoader"/> (<see cref="DistributionConfig"/>).</summary>
public sealed class DistributionConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-distribution-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (BerthOptions? Options, IReadOnlyList<string> Errors) Load(string yaml)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.yml");
        File.WriteAllText(path, yaml);
        return ConfigLoader.Load(path, _ => null);
    }

    [Fact]
    public void TheDebianPackagesFileIsReadWithItsIgnoredKeysNamed()
    {
        var root = Path.Combine(_dir, "registry");
        var (options, errors) = Load($"""
            version: 0.1
            log:
              fields:
                service: registry
            storage:
              cache:
                blobdescriptor: inmemory
              filesystem:
                rootdirectory: {root}
              delete:
                enabled: true
            http:
              addr: :5000
              headers:
                X-Content-Type-Options: [nosniff]
            auth:
              htpasswd:
                realm: basic-realm
                path: /etc/docker/registry/htpasswd
            health:
              storagedriver:
                enabled: true
            """);
        Assert.Empty(errors);
        Assert.Equal((":5000", root, true, "/etc/docker/registry/htpasswd", false),
            (options!.Listen, options.Data, options.Storage.DeleteEnabled, options.Auth.Htpasswd, options.Open));
        Assert.Equal("ignored (no equivalent in Berth): log, storage.cache, http.headers, auth.htpasswd.realm, health", Assert.Single(options.Warnings));
    }

    [Fact]
    public void TlsHostDeletesAndNotificationEndpointsAreRead()
    {
        var (options, errors) = Load("""
            version: 0.1
            http:
              addr: 127.0.0.1:5443
              host: https://registry.example.com
              tls:
                certificate: /certs/domain.crt
                key: /certs/domain.key
            storage:
              delete:
                enabled: false
            auth:
              htpasswd:
                path: /auth/htpasswd
            notifications:
              endpoints:
                - name: hook
                  url: https://hooks.example.com/event
                  headers:
                    Authorization: [Bearer abc]
                  timeout: 1m30s
                  threshold: 5
                - url: http://other.example.com/
                  disabled: true
            """);
        Assert.Empty(errors);
        Assert.Equal(("127.0.0.1:5443", "https://registry.example.com", "/certs/domain.crt", "/certs/domain.key", false),
            (options!.Listen, options.PublicUrl, options.TlsCert, options.TlsKey, options.Storage.DeleteEnabled));
        Assert.Equal(2, options.NotificationEndpoints.Count);
        var hook = options.NotificationEndpoints[0];
        Assert.Equal(("hook", "https://hooks.example.com/event", TimeSpan.FromSeconds(90), false, "Bearer abc"),
            (hook.Name, hook.Url, hook.Timeout, hook.Disabled, hook.Headers["Authorization"].Single()));
        Assert.True(options.NotificationEndpoints[1].Disabled);
        Assert.Contains("notifications.endpoints: 2 endpoints read (site-wide webhooks for push, pull and delete)", options.Warnings);
        Assert.Contains("ignored (no equivalent in Berth): notifications.endpoints[].threshold", options.Warnings);
    }

    [Fact]
    public void WithoutAuthItServesOpenAsDistributionDoes()
    {
        var (options, errors) = Load("version: 0.1\nhttp:\n  addr: 0.0.0.0:5000\n");
        Assert.Empty(errors);
        Assert.True(options!.Open);
        Assert.Contains(options.Warnings, w => w.Contains("serving open", StringComparison.Ordinal) && w.Contains("BERTH_ADMIN_PASSWORD", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("storage:\n  s3:\n    bucket: b\n", "storage.s3: only storage.filesystem is read")]
    [InlineData("storage:\n  filesystem: {}\nauth:\n  token:\n    realm: https://auth\n", "auth.token: Berth signs in users itself")]
    [InlineData("http:\n  addr: :5000\nnotifications:\n  endpoints:\n    - name: x\n", "each endpoint needs an http or https url")]
    [InlineData("http:\n  addr: :5000\nnotifications:\n  endpoints:\n    - url: http://x/\n      timeout: soon\n", "timeout \"soon\" is not a duration")]
    public void WhatBerthCannotHonourIsRefusedWithItsLine(string rest, string error)
    {
        var (options, errors) = Load("version: 0.1\n" + rest);
        Assert.Null(options);
        Assert.Contains(error, Assert.Single(errors), StringComparison.Ordinal);
        Assert.StartsWith("line ", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void ARootDirectoryHoldingDistributionsTreeIsRefusedWithTheImportCommandThenUsedAfterIt()
    {
        var root = Path.Combine(_dir, "legacy");
        Directory.CreateDirectory(Path.Combine(root, "docker", "registry", "v2", "repositories"));
        var yaml = $"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}\n";
        var (refused, errors) = Load(yaml);
        Assert.Null(refused);
        Assert.Contains($"'berth import registry2 {root} --data {Path.Combine(root, "berth")}'", Assert.Single(errors), StringComparison.Ordinal);

        Directory.CreateDirectory(Path.Combine(root, "berth"));
        File.WriteAllBytes(Path.Combine(root, "berth", "berth.db"), []);
        var (options, after) = Load(yaml);
        Assert.Empty(after);
        Assert.Equal(Path.Combine(root, "berth"), options!.Data);
    }

    [Fact]
    public void BerthsOwnFileWithAVersionKeyIsStillBerths()
    {
        // Only version plus storage or http is distribution's shape; berth.yml has no version key, so "version" alone is unknown.
        var (options, errors) = Load("listen: 127.0.0.1:6000\nstorage:\n  delete:\n    enabled: false\n");
        Assert.Empty(errors);
        Assert.Equal(("127.0.0.1:6000", false), (options!.Listen, options.Storage.DeleteEnabled));
        Assert.Empty(options.Warnings);
    }
}

/// <summary>Sign-in's password check with htpasswd's bcrypt hashes beside Berth's own.</summary>
public sealed class HtpasswdTests
{
    // Written by: htpasswd -nbB -C 5 bob bob-password-1
    private const string Bcrypt = "$2y$05$x/D5OXIF.9yhaCP1DmtIjOZrpcseGvDFVoNcmti1sAKQWn3xI1Dni";

    [Fact]
    public void BcryptFromHtpasswdAndBerthsOwnHashesAreBothVerified()
    {
        Assert.True(Auth.Htpasswd.VerifyPassword("bob-password-1", Bcrypt));
        Assert.False(Auth.Htpasswd.VerifyPassword("bob-password-2", Bcrypt));
        var own = Core.Access.Secrets.HashPassword("own-password-1");
        Assert.True(Auth.Htpasswd.VerifyPassword("own-password-1", own));
        Assert.False(Auth.Htpasswd.VerifyPassword("bob-password-1", own));
        Assert.False(Auth.Htpasswd.VerifyPassword("anything", null));
        Assert.False(Auth.Htpasswd.VerifyPassword("bob-password-1", "$2y$05$short"));
    }
}
