using System.Net;
using Berth.Core.Access;
using Berth.Tests.Support;

namespace Berth.Tests.Access;

/// <summary>
/// Every caller against every operation on a private and a public repository, each cell with its expected answer,
/// through the Docker token flow as clients use it (try, 401 challenge, token endpoint, retry with the bearer token).
/// </summary>
public sealed class AccessMatrixTests(MatrixServer server) : IClassFixture<MatrixServer>
{
    public static readonly string[] CallerNames =
        ["anonymous", "owner", "team reader", "team writer", "other user", "pull-only robot", "expired token", "revoked token", "token for another repository"];

    public static readonly string[] Operations =
        ["pull", "push", "mount from it", "delete", "tags list", "referrers", "catalog", "search", "blob it does not link"];

    public static TheoryData<string, string, string> Cells()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var caller in CallerNames)
        {
            foreach (var visibility in new[] { "private", "public" })
            {
                foreach (var op in Operations) data.Add(caller, visibility, op);
            }
        }
        return data;
    }

    /// <summary>The rights each caller should have on acme/private and acme/public.</summary>
    private static RepoActions Rights(string caller, bool isPublic) => caller switch
    {
        "owner" => RepoActions.All,
        "team reader" or "pull-only robot" => RepoActions.Pull,
        "team writer" => RepoActions.Pull | RepoActions.Push,
        "expired token" or "revoked token" => RepoActions.None,
        _ => isPublic ? RepoActions.Pull : RepoActions.None,
    };

    /// <summary>Where each caller tries to mount into: a repository it may push to when it has one.</summary>
    private static string MountTarget(string caller) => caller switch
    {
        "owner" => "olive/mounted",
        "team reader" => "rita/mounted",
        "team writer" => "acme/mounted-by-walt",
        "other user" => "oscar/mounted",
        "token for another repository" => "acme/other",
        _ => "acme/mounted",
    };

    private static bool CanPushSomewhere(string caller) => caller is "owner" or "team reader" or "team writer" or "other user" or "token for another repository";

    [Theory]
    [MemberData(nameof(Cells))]
    public async Task Cell(string caller, string visibility, string operation)
    {
        var (user, secret) = server.Callers[caller];
        using var http = server.NewClient();
        var client = new DockerFlowClient(http, user, secret);
        var repo = $"acme/{visibility}";
        var image = server.Images[visibility];
        var rights = Rights(caller, visibility == "public");
        var rejected = caller is "expired token" or "revoked token";

        switch (operation)
        {
            case "pull":
            {
                using var r = await client.SendAsync(HttpMethod.Get, $"/v2/{repo}/manifests/1", Pull(repo));
                await Expect(r, rights.HasFlag(RepoActions.Pull), HttpStatusCode.OK);
                if (r.StatusCode == HttpStatusCode.OK) Assert.Equal(image.Digest, r.Header("Docker-Content-Digest"));
                break;
            }
            case "push":
            {
                var blob = Blob.Random(100);
                using var r = await client.SendAsync(HttpMethod.Post, $"/v2/{repo}/blobs/uploads/?digest={blob.Digest}", [$"repository:{repo}:pull,push"], () => RegistryClient.Bytes(blob.Content));
                await Expect(r, rights.HasFlag(RepoActions.Push), HttpStatusCode.Created);
                break;
            }
            case "mount from it":
            {
                using var r = await client.SendAsync(HttpMethod.Post, $"/v2/{MountTarget(caller)}/blobs/uploads/?mount={image.Layer.Digest}&from={repo}",
                    [$"repository:{MountTarget(caller)}:pull,push", $"repository:{repo}:pull"]);
                if (!CanPushSomewhere(caller))
                {
                    await Expect(r, false, HttpStatusCode.Created);
                }
                else
                {
                    // A source the caller may not read turns the mount into a plain upload: nothing about the blob leaks.
                    Assert.Equal(rights.HasFlag(RepoActions.Pull) ? HttpStatusCode.Created : HttpStatusCode.Accepted, r.StatusCode);
                }
                break;
            }
            case "delete":
            {
                using var r = await client.SendAsync(HttpMethod.Delete, $"/v2/{repo}/manifests/no-such-tag", [$"repository:{repo}:delete"]);
                if (rights.HasFlag(RepoActions.Delete)) await r.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
                else await Expect(r, false, HttpStatusCode.NotFound);
                break;
            }
            case "tags list":
            {
                using var r = await client.SendAsync(HttpMethod.Get, $"/v2/{repo}/tags/list", Pull(repo));
                await Expect(r, rights.HasFlag(RepoActions.Pull), HttpStatusCode.OK);
                if (r.StatusCode == HttpStatusCode.OK) Assert.Contains("1", (await r.JsonAsync()).GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
                break;
            }
            case "referrers":
            {
                using var r = await client.SendAsync(HttpMethod.Get, $"/v2/{repo}/referrers/{image.Digest}", Pull(repo));
                await Expect(r, rights.HasFlag(RepoActions.Pull), HttpStatusCode.OK);
                break;
            }
            case "catalog":
            {
                using var r = await client.SendAsync(HttpMethod.Get, "/v2/_catalog", ["registry:catalog:*"]);
                await Expect(r, !rejected, HttpStatusCode.OK);
                if (!rejected)
                {
                    var names = (await r.JsonAsync()).GetProperty("repositories").EnumerateArray().Select(n => n.GetString()).ToList();
                    Assert.Equal(rights.HasFlag(RepoActions.Pull), names.Contains(repo));
                    // acme/hidden is private: only those with rights on the acme namespace see it.
                    Assert.Equal(Rights(caller, false).HasFlag(RepoActions.Pull), names.Contains("acme/hidden"));
                }
                break;
            }
            case "search":
            {
                // docker search sends its stored credentials as Basic.
                using var r = user is null ? await http.GetAsync("/v1/search?q=acme") : await WithBasic(http, user, secret!, "/v1/search?q=acme");
                await Expect(r, !rejected, HttpStatusCode.OK);
                if (!rejected)
                {
                    var names = (await r.JsonAsync()).GetProperty("results").EnumerateArray().Select(n => n.GetProperty("name").GetString()).ToList();
                    Assert.Equal(rights.HasFlag(RepoActions.Pull), names.Contains(repo));
                }
                break;
            }
            case "blob it does not link":
            {
                using var r = await client.SendAsync(HttpMethod.Get, $"/v2/{repo}/blobs/{server.Hidden.Digest}", Pull(repo));
                if (rights.HasFlag(RepoActions.Pull)) await r.AssertErrorAsync(HttpStatusCode.NotFound, "BLOB_UNKNOWN");
                else await Expect(r, false, HttpStatusCode.NotFound);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(operation));
        }
    }

    private static string[] Pull(string repo) => [$"repository:{repo}:pull"];

    /// <summary>Allowed: the success status. Refused: 401 with the spec's error body, from the registry or the token endpoint.</summary>
    private static async Task Expect(HttpResponseMessage r, bool allowed, HttpStatusCode success)
    {
        if (allowed)
        {
            Assert.True(r.StatusCode == success, $"expected {(int)success}, got {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
            return;
        }
        await r.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    private static Task<HttpResponseMessage> WithBasic(RegistryClient http, string user, string secret, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, http.Url(path));
        request.Headers.Authorization = RegistryClient.Basic(user, secret);
        return http.SendAsync(request);
    }

    [Fact]
    public void TheMatrixCoversEveryCellOnce() => Assert.Equal(CallerNames.Length * 2 * Operations.Length, Cells().Count);
}
