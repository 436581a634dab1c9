using System.Globalization;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Access;

namespace Berth.Auth;

/// <summary>Docker Hub's pull limits: a pull is a manifest GET, counted per account when signed in, else per address.</summary>
internal sealed class PullLimits(BerthOptions options, PullLimiter limiter, Authenticator auth)
{
    public async ValueTask CountAsync(HttpContext ctx, Caller caller)
    {
        var signedIn = !caller.IsAnonymous;
        var limit = signedIn ? options.Auth.PullLimitSignedIn : options.Auth.PullLimitAnonymous;
        if (limit <= 0) return;
        // Shared by every node through the limit counters: one read-modify-write per pull (none with limits off).
        var (allowed, remaining, resetIn) = await limiter.AcquireAsync(
            signedIn ? "account:" + caller.Name : "address:" + (caller.Address ?? auth.ClientAddress(ctx)), limit, ctx.RequestAborted);
        var window = ((long)limiter.WindowLength.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        var headers = ctx.Response.Headers;
        headers["RateLimit-Limit"] = $"{limit};w={window}";
        headers["RateLimit-Remaining"] = $"{remaining};w={window}";
        if (allowed) return;
        headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(resetIn.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        throw new RegistryException(ErrorCode.TooManyRequests,
            $"pull rate limit reached: {limit} pulls per {limiter.WindowLength} {(signedIn ? "for this account" : "for anonymous pulls from this address; sign in for more")}");
    }
}
