// Helpers shared by the micro-benchmarks: request bytes in native memory (the parser and the handlers
// read through pointers, as they do from a connection's receive buffer) and a parsed command.
using System.Runtime.InteropServices;
using System.Text;
using NativeKv.Engine.Protocol;

namespace NativeKv.Perf.Micro;

/// <summary>A block of native memory holding a copy of some bytes; freed by Dispose.</summary>
public unsafe sealed class NativeBytes : IDisposable
{
    public byte* Pointer { get; private set; }
    public int Length { get; }

    public NativeBytes(ReadOnlySpan<byte> bytes)
    {
        Length = bytes.Length;
        Pointer = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, bytes.Length));
        bytes.CopyTo(new Span<byte>(Pointer, bytes.Length));
    }

    public NativeBytes(string text) : this(Encoding.ASCII.GetBytes(text)) { }

    public void Dispose()
    {
        if (Pointer != null) NativeMemory.Free(Pointer);
        Pointer = null;
    }
}

/// <summary>A command parsed once: its bytes stay put, so its ArgList can be executed again and again.</summary>
public unsafe sealed class ParsedCommand : IDisposable
{
    readonly NativeBytes _bytes;
    public readonly ArgList Args = new();

    public ParsedCommand(params string[] args) : this(Resp.Command(args)) { }

    public ParsedCommand(byte[] resp)
    {
        _bytes = new NativeBytes(resp);
        var parser = new RespParser();
        var st = parser.Parse(_bytes.Pointer, _bytes.Length, Args, long.MaxValue, out int consumed);
        if (st != ParseStatus.Complete || consumed != _bytes.Length)
            throw new InvalidOperationException($"benchmark command did not parse: {st}");
    }

    public void Dispose()
    {
        Args.Dispose();
        _bytes.Dispose();
    }
}

public static class Resp
{
    /// <summary>The RESP multibulk form of a command, as clients send it.</summary>
    public static byte[] Command(params string[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>A printable value of <paramref name="length"/> bytes.</summary>
    public static string Value(int length) => string.Create(length, 0, (s, _) =>
    {
        for (int i = 0; i < s.Length; i++) s[i] = (char)('a' + i % 26);
    });

    /// <summary>Fixed-width keys ("key:000000000042" is 16 bytes), like redis-benchmark's -r keys.</summary>
    public static string Key(string prefix, int i) => prefix + i.ToString("D12");
}
