using Berth.Core;

namespace Berth.Core.Tests;

public sealed class ErrorTableTests
{
    [Fact]
    public void EveryCodeHasARow()
    {
        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            var (wire, status) = ErrorTable.Of(code);
            Assert.Matches("^[A-Z_]+$", wire);
            Assert.InRange(status, 400, 599);
            Assert.True(status < 500 || code is ErrorCode.Unknown, $"{code} is a client error and must not be 5xx");
        }
    }

    [Theory]
    [InlineData(ErrorCode.BlobUnknown, "BLOB_UNKNOWN", 404)]
    [InlineData(ErrorCode.BlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404)]
    [InlineData(ErrorCode.DigestInvalid, "DIGEST_INVALID", 400)]
    [InlineData(ErrorCode.ManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 400)]
    [InlineData(ErrorCode.ManifestInvalid, "MANIFEST_INVALID", 400)]
    [InlineData(ErrorCode.ManifestUnknown, "MANIFEST_UNKNOWN", 404)]
    [InlineData(ErrorCode.NameInvalid, "NAME_INVALID", 400)]
    [InlineData(ErrorCode.NameUnknown, "NAME_UNKNOWN", 404)]
    [InlineData(ErrorCode.Unauthorized, "UNAUTHORIZED", 401)]
    [InlineData(ErrorCode.Denied, "DENIED", 403)]
    [InlineData(ErrorCode.Unsupported, "UNSUPPORTED", 405)]
    [InlineData(ErrorCode.TooManyRequests, "TOOMANYREQUESTS", 429)]
    [InlineData(ErrorCode.RangeInvalid, "BLOB_UPLOAD_INVALID", 416)]
    [InlineData(ErrorCode.TooLarge, "SIZE_INVALID", 413)]
    public void MapsSpecCodesToStatuses(ErrorCode code, string wire, int status) => Assert.Equal((wire, status), ErrorTable.Of(code));

    [Fact]
    public void ClipsEchoedInput()
    {
        Assert.Equal("short", ErrorDetail.Clip("short"));
        Assert.True(ErrorDetail.Clip(new string('x', 10_000)).Length < 200);
    }
}
