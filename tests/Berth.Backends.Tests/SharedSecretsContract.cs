namespace Berth.Backends.Tests;

/// <summary>The <see cref="Core.Access.ISharedSecrets"/> contract: the first value stored wins, for every caller and every opening.</summary>
public abstract class SharedSecretsContract : StoreContract
{
    [Fact]
    public async Task TheFirstValueStoredIsTheOneEveryoneGets()
    {
        var created = 0;
        var values = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => S.Secrets.GetOrAddAsync("token-key.pem", () =>
        {
            Interlocked.Increment(ref created);
            return $"value {i}";
        }, Ct))));
        Assert.Single(values.Distinct());
        Assert.InRange(created, 1, 16);
        var again = await (await OpenAsync()).Secrets.GetOrAddAsync("token-key.pem", () => "later", Ct);
        Assert.Equal(values[0], again);
        Assert.Equal("other", await S.Secrets.GetOrAddAsync("other-key.pem", () => "other", Ct));
    }
}
