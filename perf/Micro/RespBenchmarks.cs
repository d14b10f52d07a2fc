// The protocol layer: parsing typical requests (RespParser) and writing typical replies (RespWriter).
using BenchmarkDotNet.Attributes;
using NativeKv.Engine.Protocol;

namespace NativeKv.Perf.Micro;

[MemoryDiagnoser]
public unsafe class RespParse
{
    const int PipelineDepth = 64;

    NativeBytes _get = null!, _set16 = null!, _set1k = null!, _pipeline = null!, _inline = null!;
    RespParser _parser = new();
    readonly ArgList _args = new();

    [GlobalSetup]
    public void Setup()
    {
        _get = new NativeBytes(Resp.Command("GET", Resp.Key("key:", 42)));
        _set16 = new NativeBytes(Resp.Command("SET", Resp.Key("key:", 42), Resp.Value(16)));
        _set1k = new NativeBytes(Resp.Command("SET", Resp.Key("key:", 42), Resp.Value(1024)));
        // What redis-benchmark -P 64 -t set,get sends in one batch: alternating SET and GET.
        var batch = new List<byte>();
        for (int i = 0; i < PipelineDepth; i++)
            batch.AddRange(i % 2 == 0 ? Resp.Command("SET", Resp.Key("key:", i), "xxx") : Resp.Command("GET", Resp.Key("key:", i)));
        _pipeline = new NativeBytes(batch.ToArray());
        _inline = new NativeBytes("SET key:000000000042 some-value\r\n");
        foreach (var b in new[] { _get, _set16, _set1k, _inline })
            if (ParseOne(b) != b.Length) throw new InvalidOperationException("setup: command did not parse whole");
        if (Pipeline() != _pipeline.Length) throw new InvalidOperationException("setup: pipeline did not parse whole");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in new[] { _get, _set16, _set1k, _pipeline, _inline }) b.Dispose();
        _args.Dispose();
    }

    int ParseOne(NativeBytes b)
    {
        _parser.Parse(b.Pointer, b.Length, _args, long.MaxValue, out int consumed);
        return consumed;
    }

    [Benchmark] public int Get() => ParseOne(_get);
    [Benchmark] public int Set16B() => ParseOne(_set16);
    [Benchmark] public int Set1KB() => ParseOne(_set1k);
    [Benchmark] public int InlineSet() => ParseOne(_inline);

    /// <summary>Per command, in a batch of 64 (SET/GET alternating).</summary>
    [Benchmark(OperationsPerInvoke = PipelineDepth)]
    public int Pipeline()
    {
        byte* p = _pipeline.Pointer;
        int len = _pipeline.Length, pos = 0;
        while (pos < len)
        {
            if (_parser.Parse(p + pos, len - pos, _args, long.MaxValue, out int consumed) != ParseStatus.Complete) break;
            pos += consumed;
        }
        return pos;
    }
}

[MemoryDiagnoser]
public class RespWrite
{
    readonly RespWriter _w = new();
    byte[] _v16 = null!, _v1k = null!;

    [GlobalSetup]
    public void Setup()
    {
        _v16 = System.Text.Encoding.ASCII.GetBytes(Resp.Value(16));
        _v1k = System.Text.Encoding.ASCII.GetBytes(Resp.Value(1024));
    }

    [GlobalCleanup]
    public void Cleanup() => _w.Dispose();

    [Benchmark]
    public int Bulk16B()
    {
        _w.Clear();
        _w.WriteBulk(_v16);
        return _w.Length;
    }

    [Benchmark]
    public int Bulk1KB()
    {
        _w.Clear();
        _w.WriteBulk(_v1k);
        return _w.Length;
    }

    [Benchmark]
    public int Integer()
    {
        _w.Clear();
        _w.WriteInteger(1234567890123);
        return _w.Length;
    }

    [Benchmark]
    public int NullAndOk()
    {
        _w.Clear();
        _w.WriteNull();
        _w.WriteOk();
        return _w.Length;
    }

    /// <summary>An MGET-style reply: array header and ten 16-byte bulks.</summary>
    [Benchmark]
    public int Array10x16B()
    {
        _w.Clear();
        _w.WriteArrayHeader(10);
        for (int i = 0; i < 10; i++) _w.WriteBulk(_v16);
        return _w.Length;
    }

    /// <summary>A reply whose length is known at the end (SCAN, LRANGE on a changing list).</summary>
    [Benchmark]
    public int DeferredArray10x16B()
    {
        _w.Clear();
        int at = _w.BeginDeferredArray();
        for (int i = 0; i < 10; i++) _w.WriteBulk(_v16);
        _w.EndDeferredArray(at, 10);
        return _w.Length;
    }
}
