// The list and hash commands run without GC allocation on the request path: each command is parsed and
// dispatched in process, exactly as a connection does, and the thread's allocated bytes must not move
// once the structures exist (listpack and hashtable hashes, multi-node lists, every family member).
using System.Text;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Protocol;
using NUnit.Framework;
using NativeKv.Tests.Harness;

namespace NativeKv.Tests.Unit;

[TestFixture]
public sealed unsafe class ListHashAllocationTests
{
    private ServerState _server = null!;
    private ClientState _client = null!;
    private RespWriter _reply = null!;
    private ArgList _args = null!;

    [OneTimeSetUp]
    public void Start()
    {
        // No slow log: a command preempted past its threshold on a loaded machine logs an entry (allocates by design).
        _server = new ServerState(new ServerConfig { SlowlogLogSlowerThan = -1 }, startCron: false);
        _client = new ClientState();
        _reply = new RespWriter(1 << 20);
        _client.Reply = _reply;
        _args = new ArgList();
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _args.Dispose();
        _reply.Dispose();
        _server.Dispose();
    }

    private static byte[] Encode(string[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private void Run(byte[] command)
    {
        fixed (byte* p = command)
        {
            var parser = new RespParser();
            var status = parser.Parse(p, command.Length, _args, 512L * 1024 * 1024, out _);
            if (status != ParseStatus.Complete) throw new AssertionException("command did not parse");
            var ctx = new CommandContext(_server, _client, _reply, _args);
            Dispatcher.Execute(ref ctx);
        }
        _reply.Clear();
    }

    [Test]
    public void ListAndHashCommands_DoNotAllocate()
    {
        string[][] setup =
        [
            ["RPUSH", "big", .. Enumerable.Range(0, 3000).Select(i => "element-" + i)],
            ["HSET", "small", "a", "1", "b", "2", "c", "3"],
            ["HSET", "table", .. Enumerable.Range(0, 1000).SelectMany(i => new[] { "f" + i, "v" + i })],
        ];
        foreach (var s in setup) Run(Encode(s));
        string[][] commands =
        [
            ["LPUSH", "big", "x"], ["RPUSH", "big", "y"], ["LPOP", "big"], ["RPOP", "big"], ["LPOP", "big", "2"],
            ["RPUSH", "big", "a", "b"], ["LLEN", "big"], ["LRANGE", "big", "100", "250"], ["LINDEX", "big", "1500"],
            ["LSET", "big", "1000", "replaced"], ["LINSERT", "big", "BEFORE", "element-2000", "ins"], ["LREM", "big", "1", "ins"],
            ["LPOS", "big", "element-2500"], ["LPOS", "big", "element-7", "RANK", "-1", "COUNT", "0"],
            ["LMOVE", "big", "other", "LEFT", "RIGHT"], ["RPOPLPUSH", "other", "big"], ["LMPOP", "2", "nokey", "big", "LEFT"],
            ["RPUSH", "big", "z"], ["BLPOP", "big", "0"], ["RPUSH", "big", "w"], ["BRPOP", "nokey", "big", "0"],
            ["HSET", "small", "a", "10"], ["HGET", "small", "b"], ["HMGET", "small", "a", "zz"], ["HGETALL", "small"],
            ["HINCRBY", "small", "n", "5"], ["HINCRBYFLOAT", "small", "f", "1.5"], ["HDEL", "small", "n"], ["HLEN", "small"],
            ["HEXISTS", "small", "a"], ["HSTRLEN", "small", "a"], ["HKEYS", "small"], ["HVALS", "small"], ["HSCAN", "small", "0"],
            ["HSET", "table", "f1", "new"], ["HGET", "table", "f999"], ["HDEL", "table", "f5"], ["HSET", "table", "f5", "v5"],
            ["HINCRBY", "table", "counter", "1"], ["HSCAN", "table", "0", "MATCH", "f1*", "COUNT", "20"], ["HRANDFIELD", "table", "3"],
            ["HRANDFIELD", "small", "-5", "WITHVALUES"], ["HGETALL", "table"], ["OBJECT", "ENCODING", "table"],
        ];
        var encoded = commands.Select(Encode).ToArray();
        for (int warm = 0; warm < 3; warm++)
            foreach (var c in encoded) Run(c);
        var offenders = new List<string>();
        foreach (var c in encoded)
        {
            long allocated = AllocationProbe.Measure(() => { for (int i = 0; i < 20; i++) Run(c); });
            if (allocated != 0) offenders.Add($"{Encoding.UTF8.GetString(c).Replace("\r\n", " ")} allocated {allocated} bytes in 20 runs");
        }
        Assert.That(offenders, Is.Empty);
    }
}
