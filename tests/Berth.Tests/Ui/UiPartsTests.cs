using Berth.Tests.Support;
using Berth.Ui;
using Microsoft.AspNetCore.Http;

namespace Berth.Tests.Ui;

/// <summary>The pages' building blocks on their own: escaping, the README sanitizer, sessions and anti-forgery tokens, return paths.</summary>
public sealed class UiPartsTests
{
    [Fact]
    public void Holes_are_encoded_and_literals_are_not()
    {
        var evil = "\"><script>alert(1)</script>&'";
        var html = new Html();
        html.Add($"<a title=\"{evil}\">{evil}</a>");
        Assert.Equal("<a title=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#x27;\">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#x27;</a>", html.ToString());
        Assert.Equal("<b>&lt;i&gt;</b>", Html.Of($"<b>{"<i>"}</b>").Value);
        var inner = Html.Of($"<i>{"x&y"}</i>");
        Assert.Equal("<p><i>x&amp;y</i></p>", Html.Of($"<p>{inner}</p>").Value);
    }

    [Theory]
    [InlineData("<script>window.__pwned=1</script>", "<script")]
    [InlineData("<img src=x onerror=\"alert(1)\">", "onerror")]
    [InlineData("[x](javascript:alert(1))", "javascript:")]
    [InlineData("<a href=\"javascript:alert(1)\">x</a>", "javascript:")]
    [InlineData("<iframe src=\"https://example.com\"></iframe>", "<iframe")]
    [InlineData("<svg><script>alert(1)</script></svg>", "<script")]
    [InlineData("<div style=\"background:url(https://example.com/x)\">x</div>", "style=")]
    [InlineData("<form action=\"/signout\" method=\"post\"><button>x</button></form>", "<form")]
    public void Readmes_lose_what_could_run_or_load(string markdown, string absent)
    {
        var html = Markdown.Render("# Title\n\n" + markdown).Value;
        Assert.Contains("<h1", html);
        Assert.DoesNotContain(absent, html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Readmes_keep_their_markdown()
    {
        var html = Markdown.Render("# App\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```sh\ndocker run app\n```\n\n[docs](https://example.com)").Value;
        Assert.Contains("<table>", html);
        Assert.Contains("<code", html);
        Assert.Contains("href=\"https://example.com\"", html);
        Assert.Contains("rel=\"nofollow noopener noreferrer\"", html);
    }

    [Fact]
    public void A_session_is_what_was_signed_until_it_expires()
    {
        var time = new ManualTime(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var sessions = new Sessions(new byte[32], time);
        var cookie = SignedCookie(sessions, "alice");
        Assert.Equal("alice", sessions.User(WithCookie(cookie)));

        // Another key, a changed name, a cut value: nobody.
        Assert.Null(new Sessions(Enumerable.Repeat((byte)1, 32).ToArray(), time).User(WithCookie(cookie)));
        var dot = cookie.IndexOf('.');
        var other = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(System.Text.Encoding.UTF8.GetBytes(
            "admin" + System.Text.Encoding.UTF8.GetString(Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlDecode(cookie[..dot]))["alice".Length..]));
        Assert.Null(sessions.User(WithCookie(other + cookie[dot..])));
        Assert.Null(sessions.User(WithCookie(cookie[..^2])));
        Assert.Null(sessions.User(WithCookie("garbage")));

        time.Advance(Sessions.Lifetime + TimeSpan.FromSeconds(1));
        Assert.Null(sessions.User(WithCookie(cookie)));
    }

    [Fact]
    public void A_form_token_matches_only_its_own_cookie()
    {
        var sessions = new Sessions(new byte[32], TimeProvider.System);
        var first = new DefaultHttpContext();
        var token = sessions.FormToken(first);
        var cookie = SetCookieValue(first, Sessions.CsrfCookie);
        Assert.True(sessions.IsGenuine(WithCookie(cookie, Sessions.CsrfCookie), token));
        Assert.False(sessions.IsGenuine(WithCookie(cookie, Sessions.CsrfCookie), null));
        Assert.False(sessions.IsGenuine(WithCookie(cookie, Sessions.CsrfCookie), token[..^1] + (token[^1] == 'A' ? 'B' : 'A')));
        Assert.False(sessions.IsGenuine(new DefaultHttpContext(), token));
        var second = new DefaultHttpContext();
        sessions.FormToken(second);
        Assert.False(sessions.IsGenuine(WithCookie(SetCookieValue(second, Sessions.CsrfCookie), Sessions.CsrfCookie), token));
    }

    [Theory]
    [InlineData("/r/team/app", "/r/team/app")]
    [InlineData("/settings/tokens?x=1", "/settings/tokens?x=1")]
    [InlineData("//evil.example/", "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("/\\evil.example", "/")]
    [InlineData("/v2/_catalog", "/")]
    [InlineData("", "/")]
    public void Sign_in_returns_only_to_pages_of_this_site(string target, string expected) => Assert.Equal(expected, WebUi.SafeReturn(target));

    [Fact]
    public void Sizes_and_times_read_as_people_write_them()
    {
        Assert.Equal("512 B", Human.Size(512));
        Assert.Equal("1.5 KB", Human.Size(1500));
        Assert.Equal("27 MB", Human.Size(27_000_000));
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        Assert.Equal("just now", Human.Ago(now.AddSeconds(-5), now));
        Assert.Equal("3 hours ago", Human.Ago(now.AddHours(-3), now));
        Assert.Equal("1 day ago", Human.Ago(now.AddDays(-1), now));
    }

    private static string SignedCookie(Sessions sessions, string user)
    {
        var ctx = new DefaultHttpContext();
        sessions.SignIn(ctx, user);
        return SetCookieValue(ctx, Sessions.SessionCookie);
    }

    private static string SetCookieValue(HttpContext ctx, string name)
    {
        var header = ctx.Response.Headers.SetCookie.Single(h => h!.StartsWith(name + "=", StringComparison.Ordinal))!;
        Assert.Contains("httponly", header, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite", header, StringComparison.OrdinalIgnoreCase);
        return header[(name.Length + 1)..header.IndexOf(';')];
    }

    private static HttpContext WithCookie(string value, string name = Sessions.SessionCookie)
    {
        var ctx = new DefaultHttpContext();
        ctx.Request.Headers.Cookie = $"{name}={value}";
        return ctx;
    }
}
