// Pub/Sub in process, through the real dispatcher and command table: the RESP3 shapes (push frames for
// confirmations and messages, a subscriber that may run any command, its own PUBLISH's message before the
// reply), PUBLISH without GC allocation on the steady path (with and without subscribers), and the
// client-output-buffer-limit rule (hard limit; soft limit only after its grace time).
using System.Text;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Protocol;
using NativeKv.Engine.PubSub;
using NUnit.Framework;
using NativeKv.Tests.Harness;

namespace NativeKv.Tests.Unit;

[TestFixture]
public sealed unsafe class PubSubUnitTests
{
    /// <summary>Collects delivered bytes in a preallocated buffer (no allocation per message).</summary>
    private sealed class CollectingSink : PushSink
    {
        public readonly byte[] Buffer = new byte[1 << 20];
        public int Length;
        public int Messages;

        public override void Deliver(ReadOnlySpan<byte> message, bool resp3)
        {
            if (Length + message.Length > Buffer.Length) Length = 0;
            message.CopyTo(Buffer.AsSpan(Length));
            if (resp3) Buffer[Length] = (byte)'>';
            Length += message.Length;
            Messages++;
        }

        protected override void Wake() { }

        public string Take()
        {
            string s = Encoding.UTF8.GetString(Buffer, 0, Length);
            Length = 0;
            return s;
        }
    }

    private sealed class Conn : IDisposable
    {
        public readonly ClientState Client = new();
        public readonly RespWriter Reply = new(1 << 16);
        public readonly ArgList Args = new();
        public readonly CollectingSink Sink = new();

        public Conn(bool resp3)
        {
            Client.Reply = Reply;
            Reply.Resp3 = resp3;
            Client.Protocol = resp3 ? 3 : 2;
            Client.OpenPush = () => Sink;
        }

        public void Dispose()
        {
            Reply.Dispose();
            Args.Dispose();
        }
    }

    private ServerState _server = null!;

    [SetUp]
    public void Start() => _server = new ServerState(new ServerConfig { SlowlogLogSlowerThan = -1 }, startCron: false); // a slow-log entry (a GC pause elsewhere) would allocate

    [TearDown]
    public void Stop() => _server.Dispose();

    private static byte[] Encode(params string[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private void Run(Conn c, byte[] command)
    {
        fixed (byte* p = command)
        {
            var parser = new RespParser();
            var status = parser.Parse(p, command.Length, c.Args, 512L * 1024 * 1024, out _);
            if (status != ParseStatus.Complete) throw new AssertionException("command did not parse");
            var ctx = new CommandContext(_server, c.Client, c.Reply, c.Args);
            Dispatcher.Execute(ref ctx);
        }
    }

    private string Call(Conn c, params string[] args)
    {
        c.Reply.Clear();
        Run(c, Encode(args));
        string s = Encoding.UTF8.GetString(c.Reply.Written);
        c.Reply.Clear();
        return s;
    }

    [Test]
    public void Resp3_ConfirmationsAndMessagesArePushes()
    {
        using var sub = new Conn(resp3: true);
        using var pub = new Conn(resp3: false);
        Assert.That(Call(sub, "SUBSCRIBE", "a"), Is.EqualTo(">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"));
        Assert.That(Call(sub, "PSUBSCRIBE", "a*"), Is.EqualTo(">3\r\n$10\r\npsubscribe\r\n$2\r\na*\r\n:2\r\n"));
        Assert.That(Call(pub, "PUBLISH", "a", "hi"), Is.EqualTo(":2\r\n"));
        Assert.That(sub.Sink.Take(), Is.EqualTo(">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n>4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$1\r\na\r\n$2\r\nhi\r\n"));
        // A RESP3 subscriber may run any command.
        Assert.That(Call(sub, "SET", "k", "v"), Is.EqualTo("+OK\r\n"));
        Assert.That(Call(sub, "PING"), Is.EqualTo("+PONG\r\n"));
        // Its own PUBLISH: the messages come first, in its reply stream, then the count.
        Assert.That(Call(sub, "PUBLISH", "a", "me"), Is.EqualTo(">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nme\r\n>4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$1\r\na\r\n$2\r\nme\r\n:2\r\n"));
        Assert.That(sub.Sink.Length, Is.Zero);
        Assert.That(Call(sub, "UNSUBSCRIBE"), Is.EqualTo(">3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n"));
        Assert.That(Call(sub, "PUNSUBSCRIBE", "zz"), Is.EqualTo(">3\r\n$12\r\npunsubscribe\r\n$2\r\nzz\r\n:1\r\n"));
        Assert.That(Call(sub, "SUNSUBSCRIBE"), Is.EqualTo(">3\r\n$12\r\nsunsubscribe\r\n_\r\n:0\r\n"));
    }

    [Test]
    public void Resp2_SubscriberGetsArrays_AndRestrictedCommands()
    {
        using var sub = new Conn(resp3: false);
        using var pub = new Conn(resp3: false);
        Assert.That(Call(sub, "SSUBSCRIBE", "s"), Is.EqualTo("*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n"));
        Assert.That(Call(pub, "SPUBLISH", "s", "x"), Is.EqualTo(":1\r\n"));
        Assert.That(sub.Sink.Take(), Is.EqualTo("*3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nx\r\n"));
        Assert.That(Call(sub, "GET", "k"), Does.StartWith("-ERR Can't execute 'get'"));
        Assert.That(Call(sub, "PING"), Is.EqualTo("*2\r\n$4\r\npong\r\n$0\r\n\r\n"));
    }

    [Test]
    public void Publish_DoesNotAllocate_WithOrWithoutSubscribers()
    {
        using var sub = new Conn(resp3: false);
        using var sub3 = new Conn(resp3: true);
        using var pub = new Conn(resp3: false);
        Call(sub, "SUBSCRIBE", "chan");
        Call(sub3, "PSUBSCRIBE", "ch*");
        byte[] toSubscribers = Encode("PUBLISH", "chan", "a message of some length");
        byte[] toNobody = Encode("PUBLISH", "nobody-listens", "x");
        for (int i = 0; i < 100; i++)
        {
            Run(pub, toSubscribers);
            Run(pub, toNobody);
            pub.Reply.Clear();
        }
        int before = sub.Sink.Messages + sub3.Sink.Messages;
        int attempts = 0;
        long allocated = AllocationProbe.Measure(() =>
        {
            attempts++;
            for (int i = 0; i < 10_000; i++)
            {
                Run(pub, toSubscribers);
                Run(pub, toNobody);
                pub.Reply.Clear();
            }
        });
        Assert.That(sub.Sink.Messages + sub3.Sink.Messages - before, Is.EqualTo(20_000 * attempts));
        Assert.That(allocated, Is.Zero, "bytes allocated by 20,000 PUBLISH commands");
    }

    [Test]
    public void OutputLimit_HardAtOnce_SoftAfterItsSeconds()
    {
        long since = 0;
        var limit = new OutputLimit(1000, 100, 1);
        Assert.That(OutputLimits.Exceeded(limit, 50, ref since), Is.False);
        Assert.That(OutputLimits.Exceeded(limit, 1000, ref since), Is.True, "at the hard limit");
        Assert.That(OutputLimits.Exceeded(limit, 200, ref since), Is.False, "soft limit first passed");
        Assert.That(since, Is.Not.Zero);
        Assert.That(OutputLimits.Exceeded(limit, 200, ref since), Is.False, "within its grace time");
        since -= 1500;
        Assert.That(OutputLimits.Exceeded(limit, 200, ref since), Is.True, "over the soft limit for more than its seconds");
        Assert.That(OutputLimits.Exceeded(limit, 10, ref since), Is.False);
        Assert.That(since, Is.Zero, "dropping below the soft limit resets its clock");
        Assert.That(OutputLimits.Exceeded(new OutputLimit(0, 0, 0), long.MaxValue, ref since), Is.False, "0 0 0: no limit");
    }
}
