using System.Text;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth.Backends.Tests;

/// <summary>Every metadata interface of one backend, over the same persistent state.</summary>
public sealed record Stores(IUploadSessions Uploads, IBlobLinks Links, IManifestIndex Manifests, IRepositories Repositories,
    IAccounts Accounts, ITokens Tokens, IAuditLog Audit, IEventLog Events, ILimitCounters Counters, ISharedSecrets Secrets, IJobLocks JobLocks)
{
    public IPolicies Policies { get; init; } = null!;
    public ITagStatistics TagStatistics { get; init; } = null!;
    public IIntegrity Integrity { get; init; } = null!;
    public IGarbageIndex Garbage { get; init; } = null!;
    public IBlobClaims Claims { get; init; } = null!;
}

/// <summary>
/// What every contract suite shares: a backend opened on fresh state, and helpers that build state through the
/// interfaces themselves. A backend runs each suite through a one-method subclass.
/// </summary>
public abstract class StoreContract : IDisposable, IAsyncLifetime
{
    protected readonly TempDirectory Temp = new();
    protected readonly CancellationToken Ct = CancellationToken.None;
    protected static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    protected Stores S = null!;

    /// <summary>The backend's stores over the same persistent state each time it is called (creating or upgrading the schema).</summary>
    protected abstract Task<Stores> OpenAsync();

    public async Task InitializeAsync() => S = await OpenAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => Temp.Dispose();

    protected static Digest D(string s) => Digest.Compute(Encoding.UTF8.GetBytes(s));

    protected async Task<Digest> BlobAsync(string repository, string content)
    {
        var session = new UploadSession(Guid.NewGuid().ToString("N"), repository, content.Length, Now, Now);
        await S.Uploads.CreateUploadAsync(session, Ct);
        await S.Uploads.CompleteUploadAsync(session, D(content), Ct);
        return D(content);
    }

    protected static Manifest Image(Digest config, Digest layer, Digest? subject = null, string? artifactType = null)
    {
        var subjectJson = subject is null ? "" : $$""","subject":{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{subject}}","size":10}""";
        var artifactJson = artifactType is null ? "" : $$""","artifactType":"{{artifactType}}" """;
        var json = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{config}}","size":1},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{{layer}}","size":1}]{{subjectJson}}{{artifactJson}}}""";
        var bytes = Encoding.UTF8.GetBytes(json);
        return Manifest.Parse(bytes, MediaTypes.OciManifest, Digest.Compute(bytes));
    }

    protected static Manifest Index(params Digest[] children)
    {
        var entries = string.Join(",", children.Select(c => $$"""{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{c}}","size":10}"""));
        var bytes = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[{{entries}}]}""");
        return Manifest.Parse(bytes, MediaTypes.OciIndex, Digest.Compute(bytes));
    }

    protected Task AccountAsync(string name, AccountKind kind = AccountKind.User, bool admin = false) =>
        S.Accounts.CreateAccountAsync(new Account(name, kind, kind == AccountKind.User ? "hash" : null, admin, Visibility.Private, Now), Ct);
}
