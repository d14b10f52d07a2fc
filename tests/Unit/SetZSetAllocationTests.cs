// The request path of set and sorted set commands allocates nothing on the GC heap: commands are run
// in-process through the dispatcher (parser, handler, reply writer) many times after a warm-up, and the
// thread's allocation counter must not move.
using System.Runtime.InteropServices;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Protocol;
using NUnit.Framework;
using NativeKv.Tests.Harness;

namespace NativeKv.Tests.Unit;

public sealed unsafe class SetZSetAllocationTests
{
    private static readonly string[][] Commands =
    [
        ["SADD", "s", "1", "2", "3", "x"], ["SISMEMBER", "s", "x"], ["SMISMEMBER", "s", "1", "9"], ["SCARD", "s"],
        ["SMEMBERS", "s"], ["SRANDMEMBER", "s", "2"], ["SRANDMEMBER", "s", "-3"], ["SADD", "t", "2", "3"],
        ["SINTER", "s", "t"], ["SUNION", "s", "t"], ["SDIFF", "s", "t"], ["SINTERCARD", "2", "s", "t"],
        ["SINTERSTORE", "d", "s", "t"], ["SUNIONSTORE", "d", "s", "t"], ["SDIFFSTORE", "d", "s", "t"],
        ["SMOVE", "s", "t", "x"], ["SMOVE", "t", "s", "x"], ["SSCAN", "s", "0", "COUNT", "2"], ["SPOP", "d"],
        ["SREM", "s", "1"], ["SADD", "s", "1"],
        ["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZADD", "z", "GT", "CH", "5", "a"], ["ZINCRBY", "z", "1.5", "b"],
        ["ZSCORE", "z", "a"], ["ZMSCORE", "z", "a", "nope"], ["ZCARD", "z"], ["ZRANK", "z", "b"], ["ZREVRANK", "z", "b"],
        ["ZCOUNT", "z", "(1", "+inf"], ["ZLEXCOUNT", "z", "-", "+"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZRANGE", "z", "0", "10", "BYSCORE", "LIMIT", "0", "2"], ["ZRANGEBYLEX", "z", "[a", "+"],
        ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES"], ["ZRANGESTORE", "zd", "z", "0", "1"],
        ["ZUNIONSTORE", "zu", "2", "z", "zd", "WEIGHTS", "1", "2"], ["ZINTER", "2", "z", "zd", "WITHSCORES"],
        ["ZDIFF", "2", "z", "zd"], ["ZINTERCARD", "2", "z", "zd"], ["ZRANDMEMBER", "z", "2", "WITHSCORES"],
        ["ZPOPMIN", "zu"], ["ZMPOP", "1", "zu", "MAX", "COUNT", "2"], ["BZPOPMAX", "z", "0"], ["ZADD", "z", "9", "q"],
        ["ZSCAN", "z", "0"], ["ZREMRANGEBYSCORE", "zd", "-inf", "+inf"], ["ZREM", "z", "c"], ["ZADD", "z", "3", "c"],
        ["ZADD", "z", "NX", "XX", "1", "a"], ["SADD", "z", "x"], ["ZRANGE", "z", "a", "b"],
    ];

    [Test]
    public void SetAndZSetCommands_AllocateNothingOnTheRequestPath()
    {
        // No slow log: a command preempted past its threshold on a loaded machine logs an entry (allocates by design).
        using var server = new ServerState(new ServerConfig { SlowlogLogSlowerThan = -1 }, startCron: false);
        var client = new ClientState();
        using var reply = new RespWriter();
        using var args = new ArgList();
        // All commands encoded once into one native buffer.
        var encoded = Commands.Select(c => Harness.RawClient.Encode(c)).ToArray();
        int total = encoded.Sum(e => e.Length);
        byte* buf = (byte*)NativeMemory.Alloc((nuint)total);
        try
        {
            int at = 0;
            foreach (var e in encoded)
            {
                e.CopyTo(new Span<byte>(buf + at, e.Length));
                at += e.Length;
            }
            void RunAll()
            {
                var parser = new RespParser();
                int pos = 0;
                while (pos < total)
                {
                    var st = parser.Parse(buf + pos, total - pos, args, 512L * 1024 * 1024, out int consumed);
                    if (st != ParseStatus.Complete)
                    {
                        throw new AssertionException("a command did not parse"); // (no Assert here: it allocates)
                    }
                    pos += consumed;
                    var ctx = new CommandContext(server, client, reply, args);
                    Dispatcher.Execute(ref ctx);
                    reply.Clear();
                }
            }
            for (int i = 0; i < 50; i++)
            {
                RunAll(); // warm-up: JIT, tiering, pools
            }
            long allocated = AllocationProbe.Measure(() => { for (int i = 0; i < 200; i++) RunAll(); });
            Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over {200 * Commands.Length} commands");
        }
        finally
        {
            NativeMemory.Free(buf);
        }
    }
}
