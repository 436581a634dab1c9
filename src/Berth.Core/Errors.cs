namespace Berth.Core;

/// <summary>
/// Error codes of the OCI distribution spec (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes)
/// plus the few that distribution adds and clients know.
/// </summary>
public enum ErrorCode
{
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    RangeInvalid,
    TagInvalid,
    TooLarge,
    PaginationNumberInvalid,
    /// <summary>Management API: no such user, organisation, team or token.</summary>
    NotFound,
    /// <summary>Management API: the name is taken, or the change contradicts the current state.</summary>
    Conflict,
    /// <summary>Management API: the request body or parameters are malformed.</summary>
    InvalidRequest,
    /// <summary>A fault of the server, not of the request (disk full, database gone).</summary>
    Unknown,
}

/// <summary>The one table that maps each error code to its wire code and HTTP status.</summary>
public static class ErrorTable
{
    public static (string Code, int Status) Of(ErrorCode code) => code switch
    {
        ErrorCode.BlobUnknown => ("BLOB_UNKNOWN", 404),
        ErrorCode.BlobUploadInvalid => ("BLOB_UPLOAD_INVALID", 400),
        ErrorCode.BlobUploadUnknown => ("BLOB_UPLOAD_UNKNOWN", 404),
        ErrorCode.DigestInvalid => ("DIGEST_INVALID", 400),
        ErrorCode.ManifestBlobUnknown => ("MANIFEST_BLOB_UNKNOWN", 400),
        ErrorCode.ManifestInvalid => ("MANIFEST_INVALID", 400),
        ErrorCode.ManifestUnknown => ("MANIFEST_UNKNOWN", 404),
        ErrorCode.NameInvalid => ("NAME_INVALID", 400),
        ErrorCode.NameUnknown => ("NAME_UNKNOWN", 404),
        ErrorCode.SizeInvalid => ("SIZE_INVALID", 400),
        ErrorCode.Unauthorized => ("UNAUTHORIZED", 401),
        ErrorCode.Denied => ("DENIED", 403),
        ErrorCode.Unsupported => ("UNSUPPORTED", 405),
        ErrorCode.TooManyRequests => ("TOOMANYREQUESTS", 429),
        ErrorCode.RangeInvalid => ("BLOB_UPLOAD_INVALID", 416),
        ErrorCode.TagInvalid => ("TAG_INVALID", 400),
        ErrorCode.TooLarge => ("SIZE_INVALID", 413),
        ErrorCode.PaginationNumberInvalid => ("PAGINATION_NUMBER_INVALID", 400),
        ErrorCode.NotFound => ("NOT_FOUND", 404),
        ErrorCode.Conflict => ("CONFLICT", 409),
        ErrorCode.InvalidRequest => ("INVALID_REQUEST", 400),
        ErrorCode.Unknown => ("UNKNOWN", 500),
        _ => throw new ArgumentOutOfRangeException(nameof(code)),
    };
}

/// <summary>
/// A client-visible registry error; the HTTP layer turns it into the spec's JSON body. A 401 may carry what its
/// challenge asks for; the surface that answers decides the scheme (the registry API's Bearer challenge uses it).
/// </summary>
public sealed class RegistryException(ErrorCode code, string message, IReadOnlyDictionary<string, string>? detail = null, AuthChallenge? challenge = null)
    : Exception(message)
{
    public ErrorCode Code { get; } = code;
    public IReadOnlyDictionary<string, string>? Detail { get; } = detail;
    public AuthChallenge? Challenge { get; } = challenge;
}

/// <summary>
/// The parameters of a Bearer challenge beyond realm and service (https://distribution.github.io/distribution/spec/auth/token/):
/// the scope to ask the token endpoint for, and the RFC 6750 error code.
/// </summary>
public sealed record AuthChallenge(string? Scope, string? Error)
{
    /// <summary>The bearer token is not one of ours, has expired, or its account or access token is gone.</summary>
    public static readonly AuthChallenge InvalidToken = new(null, "invalid_token");
}

public static class ErrorDetail
{
    public static IReadOnlyDictionary<string, string> Of(params (string Key, string Value)[] items) =>
        items.ToDictionary(i => i.Key, i => i.Value, StringComparer.Ordinal);

    /// <summary>Client input echoed in an error, cut to a length that cannot bloat a response or a log line.</summary>
    public static string Clip(string s) => s.Length <= 160 ? s : s[..160] + "...";
}
