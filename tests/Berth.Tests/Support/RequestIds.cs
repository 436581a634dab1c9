using System.Text.RegularExpressions;

namespace Berth.Tests.Support;

/// <summary>Error bodies carry the request's id in <c>detail.requestId</c>, different for every request: tests comparing two answers mask it.</summary>
internal static partial class RequestIds
{
    public static string Masked(string body) => Id().Replace(body, "\"requestId\":\"ID\"");

    [GeneratedRegex("\"requestId\":\"[^\"]*\"")]
    private static partial Regex Id();
}
