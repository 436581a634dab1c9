using System.Net;
using Berth.Configuration;
using Berth.Tests.Access;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>
/// <c>berth migrate</c> from a single node (SQLite, filesystem) onto PostgreSQL and S3 (the real servers of
/// tests/servers), then a node on the target serving what the single node served, to the same accounts.
/// </summary>
public sealed class MigrateTests
{
    /// <summary>A node on the migrated database and bucket.</summary>
    private sealed class TargetServer(ScratchDatabase database, S3RegistryServer bucket) : RegistryServer
    {
        protected override BerthOptions Configure(BerthOptions options) => options with
        {
            Storage = bucket.StorageOptions,
            Metadata = options.Metadata with
            {
                Type = MetadataOptions.PostgresType,
                Postgres = options.Metadata.Postgres with { ConnectionString = database.ConnectionString },
            },
        };
    }

    private static async Task<(int Code, string Out, string Err)> MigrateAsync(string data, string targetFile)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var code = await new Cli(TextReader.Null, output, error, TimeProvider.System).RunAsync(["migrate", "--data", data, "--to", targetFile]);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task A_single_node_moves_onto_postgres_and_s3_with_its_images_accounts_and_tokens()
    {
        var single = new AuthServer();
        await single.InitializeAsync();
        var bucket = new S3RegistryServer();
        await bucket.InitializeAsync();
        await bucket.StopAsync();
        await using var database = await ScratchDatabase.CreateAsync();
        var targetFile = Path.Combine(single.DataDirectory, "..", $"cluster-{Guid.NewGuid():N}.yml");
        try
        {
            Image image;
            using (var admin = single.Admin())
            {
                image = await admin.PushImageAsync("team/app", "1.0");
                await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"carol","password":"carol-password"}""", HttpStatusCode.Created);
            }
            await single.StopAsync();
            var s3 = bucket.StorageOptions.S3;
            await File.WriteAllTextAsync(targetFile, $"""
                metadata:
                  type: postgres
                  postgres:
                    connectionString: "{database.ConnectionString}"
                storage:
                  type: s3
                  s3:
                    endpoint: {s3.Endpoint}
                    bucket: {s3.Bucket}
                    accessKey: {s3.AccessKey}
                    secretKey: {s3.SecretKey}
                """);

            var (code, output, error) = await MigrateAsync(single.DataDirectory, targetFile);
            Assert.True(code == 0, error);
            var copied = System.Text.RegularExpressions.Regex.Match(output, @"(\d+) blobs copied");
            Assert.True(copied.Success && int.Parse(copied.Groups[1].Value) >= 3, output);
            Assert.Contains("token signing key copied", output);

            var target = new TargetServer(database, bucket);
            await target.InitializeAsync();
            try
            {
                using var carol = target.NewClient();
                carol.Authorization = RegistryClient.Basic("admin", AuthServer.AdminPassword);
                using var manifest = await carol.GetAsync("/v2/team/app/manifests/1.0", image.MediaType);
                Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
                Assert.Equal(image.Manifest, await manifest.BytesAsync());
                using var layer = await carol.GetAsync($"/v2/team/app/blobs/{image.Layer.Digest}");
                Assert.Equal(image.Layer.Content, await layer.BytesAsync());
                carol.Authorization = RegistryClient.Basic("carol", "carol-password");
                using var v2 = await carol.GetAsync("/v2/");
                Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
            }
            finally
            {
                await target.StopAsync();
            }

            // Again into the same database: refused, and nothing changes.
            var (again, _, againError) = await MigrateAsync(single.DataDirectory, targetFile);
            Assert.NotEqual(0, again);
            Assert.Contains("already holds repositories", againError);
        }
        finally
        {
            File.Delete(targetFile);
            await single.DisposeAsync();
            await bucket.DisposeAsync();
        }
    }
}
