namespace Berth.Core;

/// <summary>
/// Validation of repository names and tags by the grammar of the OCI distribution spec
/// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests):
/// name <c>[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*</c>,
/// tag <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>.
/// </summary>
public static class Names
{
    /// <summary>Distribution's limit; the spec requires at least 255 characters including a host name.</summary>
    public const int MaxRepositoryLength = 255;

    public static bool IsValidRepository(ReadOnlySpan<char> name)
    {
        if (name.Length == 0 || name.Length > MaxRepositoryLength) return false;
        foreach (var range in name.Split('/'))
        {
            if (!IsValidComponent(name[range])) return false;
        }
        return true;
    }

    private static bool IsValidComponent(ReadOnlySpan<char> c)
    {
        if (c.Length == 0 || !IsAlnum(c[0]) || !IsAlnum(c[^1])) return false;
        for (var i = 1; i < c.Length - 1; i++)
        {
            if (IsAlnum(c[i])) continue;
            switch (c[i])
            {
                case '.':
                    if (!IsAlnum(c[i + 1])) return false;
                    break;
                case '_':
                    // "_" or "__", then an alphanumeric
                    if (c[i + 1] == '_') { i++; if (!IsAlnum(c[i + 1])) return false; }
                    else if (!IsAlnum(c[i + 1])) return false;
                    break;
                case '-':
                    while (c[i + 1] == '-') i++;
                    if (!IsAlnum(c[i + 1])) return false;
                    break;
                default:
                    return false;
            }
        }
        return true;
    }

    public static bool IsValidTag(ReadOnlySpan<char> tag)
    {
        if (tag.Length is 0 or > 128) return false;
        if (!(char.IsAsciiLetterOrDigit(tag[0]) || tag[0] == '_')) return false;
        foreach (var ch in tag[1..])
        {
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '_' or '.' or '-')) return false;
        }
        return true;
    }

    private static bool IsAlnum(char c) => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c);
}

/// <summary>A manifest reference: a tag or a digest.</summary>
public readonly record struct Reference(string? Tag, Digest? Digest)
{
    public bool IsDigest => Digest.HasValue;

    public static Reference Parse(string value)
    {
        if (value.Contains(':'))
        {
            return Berth.Core.Digest.TryParse(value, out var d)
                ? new Reference(null, d)
                : throw new RegistryException(ErrorCode.DigestInvalid, $"invalid digest \"{ErrorDetail.Clip(value)}\"");
        }
        return Names.IsValidTag(value)
            ? new Reference(value, null)
            : throw new RegistryException(ErrorCode.TagInvalid, $"invalid tag \"{ErrorDetail.Clip(value)}\"");
    }

    public override string ToString() => Tag ?? Digest!.Value.ToString();
}
