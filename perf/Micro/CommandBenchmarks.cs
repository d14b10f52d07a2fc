// Command dispatch: the table lookup alone, then whole commands through Dispatcher.Execute on an
// in-process ServerState (no network): lookup, arity, handler, shard lock, keyspace, reply.
using BenchmarkDotNet.Attributes;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Protocol;

namespace NativeKv.Perf.Micro;

[MemoryDiagnoser]
public class CommandLookup
{
    [Benchmark] public CommandDef? GetLower() => CommandTable.Lookup("get"u8);
    [Benchmark] public CommandDef? SetUpper() => CommandTable.Lookup("SET"u8);
    [Benchmark] public CommandDef? IncrMixed() => CommandTable.Lookup("IncR"u8);
    [Benchmark] public CommandDef? Unknown() => CommandTable.Lookup("NOSUCHCOMMAND"u8);

    [Benchmark]
    public CommandDef? ConfigGetSubcommand()
    {
        var parent = CommandTable.Lookup("CONFIG"u8)!;
        return CommandTable.LookupSub(parent, "GET"u8);
    }
}

[MemoryDiagnoser]
public unsafe class Dispatch : InProcess
{
    const int PipelineDepth = 64;
    const int Keys = 10_000;

    /// <summary>Members of the set and the sorted set (a power of two: the benchmarks cycle with a mask).</summary>
    const int Members = 1024;
    int _m;

    ParsedCommand _getHit = null!, _getMiss = null!, _set16 = null!, _set1k = null!, _incr = null!, _scanMatch = null!;
    ParsedCommand _setEx = null!, _ttl = null!, _mget10 = null!, _incrByFloat = null!, _exists = null!;
    ParsedCommand[] _sadd = null!, _zadd = null!;
    ParsedCommand[] All => [_getHit, _getMiss, _set16, _set1k, _incr, _scanMatch, _setEx, _ttl, _mget10, _incrByFloat, _exists, .. _sadd, .. _zadd];
    NativeBytes _pipeline = null!;
    RespParser _parser = new();
    readonly ArgList _args = new();

    [GlobalSetup]
    public void Setup()
    {
        _server = new ServerState(new ServerConfig(), startCron: false);
        // A populated keyspace, so that lookups walk real buckets.
        for (int i = 0; i < Keys; i++)
            using (var set = new ParsedCommand("SET", Resp.Key("key:", i), Resp.Value(16))) Run(set);
        _getHit = new ParsedCommand("GET", Resp.Key("key:", 42));
        _getMiss = new ParsedCommand("GET", Resp.Key("nokey:", 42));
        _set16 = new ParsedCommand("SET", Resp.Key("key:", 43), Resp.Value(16));
        _set1k = new ParsedCommand("SET", Resp.Key("big:", 1), Resp.Value(1024));
        _incr = new ParsedCommand("INCR", Resp.Key("counter:", 1));
        _scanMatch = new ParsedCommand("SCAN", "0", "MATCH", "key:0000000000*", "COUNT", "10");
        _setEx = new ParsedCommand("SET", Resp.Key("ttl:", 1), Resp.Value(16), "EX", "3600");
        _ttl = new ParsedCommand("TTL", Resp.Key("ttl:", 1));
        _mget10 = new ParsedCommand(["MGET", .. Enumerable.Range(100, 10).Select(i => Resp.Key("key:", i * 97))]);
        _incrByFloat = new ParsedCommand("INCRBYFLOAT", Resp.Key("float:", 1), "0.5");
        _exists = new ParsedCommand("EXISTS", Resp.Key("key:", 7), Resp.Key("key:", 8), Resp.Key("nokey:", 9));
        // As redis-benchmark's SADD/ZADD with -r: members drawn from a range, most already present.
        _sadd = Enumerable.Range(0, Members).Select(i => new ParsedCommand("SADD", "myset", Resp.Key("element:", i * 7919 % 100_000))).ToArray();
        _zadd = Enumerable.Range(0, Members).Select(i => new ParsedCommand("ZADD", "myzset", (i % 1000).ToString(), Resp.Key("element:", i * 7919 % 100_000))).ToArray();
        foreach (var c in _sadd) Run(c);
        foreach (var c in _zadd) Run(c);
        var batch = new List<byte>();
        for (int i = 0; i < PipelineDepth; i++)
            batch.AddRange(i % 2 == 0 ? Resp.Command("SET", Resp.Key("key:", i * 37), "xxx") : Resp.Command("GET", Resp.Key("key:", i * 37)));
        _pipeline = new NativeBytes(batch.ToArray());

        Expect(_getHit, "$16\r\n");
        Expect(_getMiss, "$-1\r\n");
        Expect(_set16, "+OK\r\n");
        Expect(_set1k, "+OK\r\n");
        Expect(_incr, ":1\r\n");
        Expect(_scanMatch, "*2\r\n");
        Expect(_setEx, "+OK\r\n");
        Expect(_ttl, ":3600\r\n");
        Expect(_mget10, "*10\r\n$16\r\n");
        Expect(_incrByFloat, "$3\r\n0.5\r\n");
        Expect(_exists, ":2\r\n");
    }

    void Expect(ParsedCommand cmd, string replyStart)
    {
        _reply.Clear();
        var c = new CommandContext(_server, _client, _reply, cmd.Args);
        Dispatcher.Execute(ref c);
        string got = System.Text.Encoding.ASCII.GetString(_reply.Written);
        if (!got.StartsWith(replyStart, StringComparison.Ordinal))
            throw new InvalidOperationException($"setup: expected a reply starting with {replyStart.Trim()}, got {got.Trim()}");
        _reply.Clear();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var c in All) c.Dispose();
        _pipeline.Dispose();
        _args.Dispose();
        _reply.Dispose();
        _server.Dispose();
    }

    [Benchmark] public int GetHit() => Run(_getHit);
    [Benchmark] public int GetMiss() => Run(_getMiss);
    [Benchmark] public int Set16B() => Run(_set16);
    [Benchmark] public int Set1KB() => Run(_set1k);
    [Benchmark] public int Incr() => Run(_incr);

    /// <summary>SET with an expiry (option parsing, the TTL slot).</summary>
    [Benchmark] public int SetEx() => Run(_setEx);
    [Benchmark] public int Ttl() => Run(_ttl);
    /// <summary>MGET of ten present keys (ten shards locked in order).</summary>
    [Benchmark] public int MGet10() => Run(_mget10);
    /// <summary>INCRBYFLOAT (long-double parsing and %.17Lf formatting).</summary>
    [Benchmark] public int IncrByFloat() => Run(_incrByFloat);
    /// <summary>EXISTS of three keys, two present.</summary>
    [Benchmark] public int Exists() => Run(_exists);

    /// <summary>SADD of a member already in a 1,024-member set (hashtable encoding).</summary>
    [Benchmark] public int SAddExisting() => Run(_sadd[_m++ & (Members - 1)]);

    /// <summary>ZADD of a member already in a 1,024-member sorted set with the score it has (what
    /// redis-benchmark's ZADD myzset 0 element:__rand_int__ does in steady state).</summary>
    [Benchmark] public int ZAddExisting() => Run(_zadd[_m++ & (Members - 1)]);

    /// <summary>One SCAN step with a pattern (COUNT 10: about ten keys visited and matched).</summary>
    [Benchmark] public int ScanMatch() => Run(_scanMatch);

    /// <summary>Per command: what a connection does with one receive of 64 pipelined SET/GET
    /// (parse, execute, reply into one buffer).</summary>
    [Benchmark(OperationsPerInvoke = PipelineDepth)]
    public int PipelineParseAndExecute()
    {
        _reply.Clear();
        byte* p = _pipeline.Pointer;
        int len = _pipeline.Length, pos = 0;
        while (pos < len)
        {
            if (_parser.Parse(p + pos, len - pos, _args, long.MaxValue, out int consumed) != ParseStatus.Complete) break;
            pos += consumed;
            var c = new CommandContext(_server, _client, _reply, _args);
            Dispatcher.Execute(ref c);
        }
        return _reply.Length;
    }
}

/// <summary>The clock reads on every command: the dispatcher's two Stopwatch timestamps (commandstats),
/// NowMs (TTL checks), the LRU stamp; and the two atomic statistics updates.</summary>
[MemoryDiagnoser]
public class Clocks
{
    long _counter;

    [Benchmark] public long StopwatchTimestamp() => System.Diagnostics.Stopwatch.GetTimestamp();
    [Benchmark] public long UnixMs() => Clock.UnixMs();
    [Benchmark] public uint LruMs() => Clock.LruMs();
    [Benchmark] public long InterlockedIncrement() => Interlocked.Increment(ref _counter);
}

/// <summary>SET of a new key on a server at its maxmemory: the dispatcher's memory check, eviction of
/// enough keys by the policy (sampled), then the insert. The steady state of a full cache.</summary>
[MemoryDiagnoser]
public class Eviction : InProcess
{
    /// <summary>Keys written in turn: far more than the ~20,000 the limit holds, so nearly every SET
    /// creates a key (its earlier self was evicted long ago).</summary>
    const int Distinct = 65_536;

    [Params("allkeys-lru", "allkeys-lfu", "allkeys-random")]
    public string Policy = "";

    ParsedCommand[] _sets = null!;
    int _i;

    [GlobalSetup]
    public void Setup()
    {
        _server = new ServerState(new ServerConfig { MaxMemoryPolicy = Policy }, startCron: false);
        _sets = new ParsedCommand[Distinct];
        for (int i = 0; i < Distinct; i++) _sets[i] = new ParsedCommand("SET", Resp.Key("evict:", i), Resp.Value(64));
        for (int i = 0; i < 20_000; i++) Run(_sets[_i++]);
        // The limit is what is used now: from here on every new key must make room first.
        _server.MaxMemory = NativeKv.Engine.Memory.MemoryCounters.Used;
        for (int i = 0; i < 1000; i++) Run(_sets[_i++]);
        string reply = System.Text.Encoding.ASCII.GetString(_reply.Written);
        if (reply != "+OK\r\n") throw new InvalidOperationException($"setup: SET over maxmemory answered {reply.Trim()}");
        if (_server.EvictedKeys == 0) throw new InvalidOperationException("setup: nothing was evicted");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var c in _sets) c.Dispose();
        _reply.Dispose();
        _server.Dispose();
    }

    [Benchmark]
    public int SetNewKeyAtLimit() => Run(_sets[_i++ & (Distinct - 1)]);
}

/// <summary>redis-benchmark's ZADD with -r 100000 in steady state: a 100,000-member sorted set (skiplist),
/// each ZADD giving a present member a new random score, so that the node moves (unlink, relink). The
/// set is far bigger than the caches: the searches wait on memory, not on compares.</summary>
[MemoryDiagnoser]
public class ZSetLarge : InProcess
{
    const int Members = 100_000;
    /// <summary>Commands cycled through (a power of two: the benchmark cycles with a mask).</summary>
    const int Commands = 65_536;

    ParsedCommand[] _zadd = null!;
    int _i;

    [GlobalSetup]
    public void Setup()
    {
        _server = new ServerState(new ServerConfig(), startCron: false);
        var rng = new Random(12345);
        for (int i = 0; i < Members; i++)
            using (var c = new ParsedCommand("ZADD", "myzset", rng.Next(Members).ToString(), Resp.Key("element:", i))) Run(c);
        _zadd = new ParsedCommand[Commands];
        for (int i = 0; i < Commands; i++)
            _zadd[i] = new ParsedCommand("ZADD", "myzset", rng.Next(Members).ToString(), Resp.Key("element:", rng.Next(Members)));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var c in _zadd) c.Dispose();
        _reply.Dispose();
        _server.Dispose();
    }

    /// <summary>ZADD of a present member with a new random score.</summary>
    [Benchmark] public int ZAddMoves() => Run(_zadd[_i++ & (Commands - 1)]);
}

/// <summary>A server in this process: commands run through Dispatcher.Execute (no network), their replies
/// written into one buffer that each command clears.</summary>
public abstract class InProcess
{
    protected ServerState _server = null!;
    protected readonly ClientState _client = new();
    protected readonly RespWriter _reply = new();

    /// <summary>Runs one command; returns its reply's length.</summary>
    protected int Run(ParsedCommand cmd)
    {
        _reply.Clear();
        var c = new CommandContext(_server, _client, _reply, cmd.Args);
        Dispatcher.Execute(ref c);
        return _reply.Length;
    }
}
