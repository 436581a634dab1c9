using System.Reflection;
using Berth.Core.Access;
using Berth.Metadata;

namespace Berth.Core.Tests;

/// <summary>Concurrent sign-ins with the same credentials share one password verification; the throttle still counts each.</summary>
public sealed class SignInTests : IAsyncLifetime
{
    private const string Password = "correct horse battery";
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-signin-").FullName;
    private CountingStore _store = null!;
    private LoginThrottle _throttle = null!;
    private SignInService _accounts = null!;

    public async Task InitializeAsync()
    {
        var db = await SqliteDatabase.OpenAsync(Path.Combine(_dir, "berth.db"), TimeProvider.System, CancellationToken.None);
        _store = CountingStore.Wrap(new SqliteAccounts(db));
        _throttle = new LoginThrottle(new MemoryLimitCounters(), TimeProvider.System, maxFailures: 4, TimeSpan.FromMinutes(5));
        var accounts = (IAccounts)(object)_store;
        var repositories = new SqliteRepositories(db);
        var access = new AccessControl(accounts, repositories, TimeProvider.System);
        var audit = new AuditTrail(new SqliteAuditLog(db), access, TimeProvider.System);
        _accounts = new SignInService(accounts, new SqliteTokens(db), audit, _throttle, TimeProvider.System);
        await new Administration(accounts, repositories, access, audit, TimeProvider.System).EnsureAdminAsync(Password, CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Starts <paramref name="n"/> sign-ins while the account lookup is held, then lets it go.</summary>
    private async Task<SignIn[]> ConcurrentSignInsAsync(int n, string secret)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _store.Gate = gate.Task;
        _store.AccountLookups = 0;
        var attempts = Enumerable.Range(0, n).Select(_ => _accounts.SignInAsync("admin", secret, "192.0.2.1", CancellationToken.None)).ToArray();
        gate.SetResult();
        return await Task.WhenAll(attempts);
    }

    [Fact]
    public async Task IdenticalConcurrentSignInsVerifyOnce()
    {
        var results = await ConcurrentSignInsAsync(16, Password);
        Assert.All(results, r => Assert.Equal("admin", r.Caller?.Name));
        Assert.Equal(1, _store.AccountLookups);
    }

    [Fact]
    public async Task EveryConcurrentWrongPasswordIsCountedByTheThrottle()
    {
        var results = await ConcurrentSignInsAsync(4, "wrong password");
        Assert.All(results, r => Assert.Null(r.Caller));
        Assert.Equal(1, _store.AccountLookups);
        // Four failures with maxFailures 4: locked, as four failures one after another would leave it.
        Assert.NotNull((await _throttle.CheckAsync("admin", "192.0.2.1", CancellationToken.None)).LockedFor);
        var next = await _accounts.SignInAsync("admin", Password, "192.0.2.1", CancellationToken.None);
        Assert.Null(next.Caller);
        Assert.NotNull(next.RetryAfter);
    }

    [Fact]
    public async Task SequentialSignInsVerifyEachTime()
    {
        _store.AccountLookups = 0;
        for (var i = 0; i < 2; i++) Assert.NotNull((await _accounts.SignInAsync("admin", Password, "192.0.2.1", CancellationToken.None)).Caller);
        Assert.Equal(2, _store.AccountLookups);
    }

    /// <summary>The real store, counting account lookups (one per password verification) and holding them at a gate.</summary>
    public class CountingStore : DispatchProxy
    {
        private IAccounts _inner = null!;
        public int AccountLookups;
        public Task Gate = Task.CompletedTask;

        public static CountingStore Wrap(IAccounts inner)
        {
            var proxy = (CountingStore)(object)Create<IAccounts, CountingStore>();
            proxy._inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method!.Name == nameof(IAccounts.GetAccountAsync))
            {
                Interlocked.Increment(ref AccountLookups);
                return GatedAsync((Task<Account?>)method.Invoke(_inner, args)!);
            }
            return method.Invoke(_inner, args);
        }

        private async Task<Account?> GatedAsync(Task<Account?> lookup)
        {
            await Gate;
            return await lookup;
        }
    }
}
