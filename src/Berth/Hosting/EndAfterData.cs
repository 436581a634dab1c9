using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace Berth.Hosting;

/// <summary>
/// Kestrel drops a request body's last bytes when they arrive in the same read as the end of the connection: its
/// Content-Length body reader checks <see cref="ReadResult.IsCompleted"/> and throws before handing out the buffer
/// (aspnetcore's Http1ContentLengthMessageBody). A PATCH cut off by the network would then lose what did arrive,
/// which the upload keeps so the client can resume (<see cref="Core.Registry.UploadService"/>). This reader, put
/// between the connection (after TLS) and HTTP, reports such an end one read later: first the data, then the end.
/// Reads that do not end the connection pass through untouched.
/// </summary>
internal sealed class EndAfterData(PipeReader inner) : PipeReader
{
    private SequencePosition _examined;

    public static async Task RunAsync(ConnectionContext connection, Func<Task> next)
    {
        var transport = connection.Transport;
        connection.Transport = new Duplex(new EndAfterData(transport.Input), transport.Output);
        try
        {
            await next();
        }
        finally
        {
            connection.Transport = transport;
        }
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var read = inner.ReadAsync(cancellationToken);
        return read.IsCompletedSuccessfully ? new(Defer(read.Result)) : AwaitAsync(read);
    }

    private async ValueTask<ReadResult> AwaitAsync(ValueTask<ReadResult> read) => Defer(await read);

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result)) return false;
        result = Defer(result);
        return true;
    }

    /// <summary>
    /// The end is shown once the consumer has examined every byte before it. Nothing waits for it: the inner pipe is
    /// complete, so the next read answers at once.
    /// </summary>
    private ReadResult Defer(ReadResult result) =>
        result.IsCompleted && !result.Buffer.IsEmpty && !result.Buffer.End.Equals(_examined)
            ? new ReadResult(result.Buffer, result.IsCanceled, isCompleted: false)
            : result;

    public override void AdvanceTo(SequencePosition consumed)
    {
        _examined = consumed;
        inner.AdvanceTo(consumed);
    }

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _examined = examined;
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
