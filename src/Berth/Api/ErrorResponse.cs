using System.Text.Json;
using Berth.Auth;
using Berth.Core;

namespace Berth.Api;

/// <summary>
/// How a surface answers a failed request: the spec's <c>{"errors":[...]}</c> body with the status from
/// <see cref="ErrorTable"/>. The body is the same on every surface; the 401 challenge is the surface's own, so each
/// passes the function that writes it.
/// </summary>
internal static partial class ErrorResponse
{
    /// <summary>The WWW-Authenticate value for a 401, from what the refusal carried.</summary>
    public delegate string Challenge(HttpContext ctx, AuthChallenge? challenge);

    /// <summary>The challenge of every surface but the registry API: Basic, whatever the refusal carried.</summary>
    public static readonly Challenge Basic = static (_, _) => Authenticator.BasicChallenge;

    /// <summary>Answers whatever a surface's handler threw; <paramref name="log"/> is the surface's.</summary>
    public static Task WriteAsync(HttpContext ctx, Exception e, Challenge challenge, ILogger log)
    {
        switch (e)
        {
            case RegistryException r:
                return WriteAsync(ctx, r.Code, r.Message, r.Detail, null, r.Challenge, challenge, log);
            case BadHttpRequestException b:
                // Kestrel's verdict on the request itself: body shorter than Content-Length, too large, too slow.
                return WriteAsync(ctx, b.StatusCode == 413 ? ErrorCode.TooLarge : ErrorCode.BlobUploadInvalid, b.Message, null, b.StatusCode, null, challenge, log);
            case OperationCanceledException or IOException when ctx.RequestAborted.IsCancellationRequested:
                // The client went away; there is nobody to answer.
                return Task.CompletedTask;
            default:
                // The server's own fault (disk full, database unavailable): logged in full, answered in the spec's shape.
                ServerFault(log, e, ctx.Request.Method, ctx.Request.Path.Value ?? "");
                return WriteAsync(ctx, ErrorCode.Unknown, "internal error; the registry's log has the details", null, null, null, challenge, log);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void ServerFault(ILogger log, Exception e, string method, string path);

    private static async Task WriteAsync(HttpContext ctx, ErrorCode code, string message, IReadOnlyDictionary<string, string>? detail, int? status,
        AuthChallenge? refusal, Challenge challenge, ILogger log)
    {
        var (wire, defaultStatus) = ErrorTable.Of(code);
        var response = ctx.Response;
        if (response.HasStarted)
        {
            // Headers are gone; all that is left is to cut the connection so the client sees a failure, not a short body.
            log.LogWarning("error {Code} after the response started: {Message}", wire, message);
            ctx.Abort();
            return;
        }
        response.StatusCode = status ?? defaultStatus;
        if (response.StatusCode == 401) response.Headers.WWWAuthenticate = challenge(ctx, refusal);
        if (ctx.Request.Method == "HEAD") return;
        response.ContentType = "application/json";
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorBody([new ErrorItem(wire, message, WithRequestId(detail))]), WireJson.Api.ErrorBody);
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body);
    }

    /// <summary>The detail with the request's id added, so a user's report can be matched with the server's log lines.</summary>
    private static IReadOnlyDictionary<string, string>? WithRequestId(IReadOnlyDictionary<string, string>? detail)
    {
        if (Core.Observability.RequestContext.Current is not { } request) return detail;
        var withId = detail is null ? new Dictionary<string, string>(1) : new Dictionary<string, string>(detail);
        withId["requestId"] = request.RequestId;
        return withId;
    }
}
