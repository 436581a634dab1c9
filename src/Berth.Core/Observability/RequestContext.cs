namespace Berth.Core.Observability;

/// <summary>
/// What is known about the request being served, for whatever runs inside it: the log lines it writes (request id,
/// repository, digest) and the events its changes record (actor, address, request id). Set once per request by the
/// server's first middleware and filled in as the request goes (the caller after authentication, the repository once
/// the path is parsed); code outside a request (jobs, CLI verbs) sees <see cref="Current"/> null. Stores read it when
/// they write an event, so no store method has to take who acted as an argument.
/// </summary>
public sealed class RequestContext(string requestId, string method, string path)
{
    private static readonly AsyncLocal<RequestContext?> Local = new();

    /// <summary>The request this code runs for, or null outside a request.</summary>
    public static RequestContext? Current
    {
        get => Local.Value;
        set => Local.Value = value;
    }

    /// <summary>The id answered in <c>X-Request-Id</c>, written on every log line of the request and into error details.</summary>
    public string RequestId { get; } = requestId;

    /// <summary>The request's method and path as sent (the query left out).</summary>
    public string Method { get; } = method;

    public string Path { get; } = path;

    /// <summary>The account that signed in (a user or robot name), or null while anonymous.</summary>
    public string? Actor { get; set; }

    /// <summary>The client's address as the server sees it (after <c>trustProxy</c>).</summary>
    public string? Address { get; set; }

    /// <summary>The actor a store writes on an event: the one it was given, else the current request's.</summary>
    public static string? ActorOr(string? given) => given ?? Local.Value?.Actor;
}
