using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;

namespace Berth.Hosting;

/// <summary>
/// A plain-HTTP request sent to the HTTPS port got an empty reply: the TLS handshake failed on its first byte and the
/// connection was closed. Like nginx ("The plain HTTP request was sent to HTTPS port") and Go's net/http, it now gets
/// a 400 that says to use https://. A TLS connection starts with a handshake record, 0x16
/// (https://www.rfc-editor.org/rfc/rfc8446#section-5.1); an HTTP/1 request with the capital letters of its method.
/// Runs before TLS; anything that is not such a request goes on to the handshake untouched.
/// </summary>
internal static class PlainHttpOnTlsPort
{
    private const string Hint = "Client sent an HTTP request to an HTTPS server: use https:// for this port\n";

    private static readonly byte[] Answer = Encoding.ASCII.GetBytes(
        $"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Hint.Length}\r\nConnection: close\r\n\r\n{Hint}");

    /// <summary>As long as Kestrel's own TLS handshake timeout: a connection that says nothing is closed.</summary>
    private static readonly TimeSpan FirstByteTimeout = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(ConnectionContext connection, Func<Task> next)
    {
        var input = connection.Transport.Input;
        ReadResult read;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed))
        {
            timeout.CancelAfter(FirstByteTimeout);
            try
            {
                read = await input.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        if (read.Buffer.IsEmpty)
        {
            input.AdvanceTo(read.Buffer.Start);
            return;
        }
        if (!char.IsAsciiLetterUpper((char)read.Buffer.FirstSpan[0]))
        {
            // Nothing consumed or examined: the handshake reads the same bytes again.
            input.AdvanceTo(read.Buffer.Start);
            await next();
            return;
        }
        input.AdvanceTo(read.Buffer.End);
        await connection.Transport.Output.WriteAsync(Answer, connection.ConnectionClosed);
    }
}
