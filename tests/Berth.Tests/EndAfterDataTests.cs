using System.Buffers;
using System.IO.Pipelines;
using Berth.Hosting;

namespace Berth.Tests;

/// <summary>The connection reader that shows the end of a connection only after the data that came with it.</summary>
public sealed class EndAfterDataTests
{
    [Fact]
    public async Task DataThatArrivesWithTheEndIsReadFirst()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync("head|body"u8.ToArray());
        await pipe.Writer.CompleteAsync();
        var reader = new EndAfterData(pipe.Reader);

        var first = await reader.ReadAsync();
        Assert.False(first.IsCompleted);
        Assert.Equal(9, first.Buffer.Length);
        // A parser takes the head and has looked no further: the rest is data it has not seen yet.
        var head = first.Buffer.GetPosition(5);
        reader.AdvanceTo(head, head);

        var second = await reader.ReadAsync();
        Assert.False(second.IsCompleted);
        Assert.Equal("body"u8.ToArray(), second.Buffer.ToArray());
        reader.AdvanceTo(second.Buffer.End);

        var third = await reader.ReadAsync();
        Assert.True(third.IsCompleted);
        Assert.True(third.Buffer.IsEmpty);
    }

    [Fact]
    public async Task AConsumerThatExaminedEverythingSeesTheEnd()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync("partial"u8.ToArray());
        await pipe.Writer.CompleteAsync();
        var reader = new EndAfterData(pipe.Reader);

        var first = await reader.ReadAsync();
        Assert.False(first.IsCompleted);
        reader.AdvanceTo(first.Buffer.Start, first.Buffer.End);

        var second = await reader.ReadAsync();
        Assert.True(second.IsCompleted);
        Assert.Equal(7, second.Buffer.Length);
    }
}
