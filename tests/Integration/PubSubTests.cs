// Pub/Sub through raw sockets, differential (the same expectations hold against redis-server 7.0 with
// NATIVEKV_TEST_TARGET=redis): subscribe confirmations, message delivery and its order, patterns, shard
// channels, RESP2 subscriber mode, PUBSUB introspection, INFO counters, forgetting a closed subscriber,
// keyspace notifications, MONITOR lines, and client-output-buffer-limit closing a subscriber that never
// reads while the server's memory stays bounded.
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed partial class PubSubTests : ServerFixture
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private RawClient Subscriber(params string[] subscribeCommand)
    {
        var sub = NewClient();
        sub.ReadTimeout = Wait;
        sub.Send(RawClient.Encode(subscribeCommand));
        for (int i = 1; i < subscribeCommand.Length; i++)
        {
            var confirm = sub.Read();
            Assert.That(confirm.AsStrings()[0], Is.EqualTo(subscribeCommand[0].ToLowerInvariant()), confirm.ToString());
        }
        return sub;
    }

    private static void IsMessage(RespValue r, params string[] expected) =>
        Assert.That(r.AsStrings(), Is.EqualTo(expected), r.ToString());

    [Test]
    public void Subscribe_ConfirmsEachChannelWithTheRunningCount()
    {
        using var sub = NewClient();
        sub.Send(RawClient.Encode("SUBSCRIBE", "a", "b", "a"));
        Assert.That(sub.Read().ToString(), Is.EqualTo("[\"subscribe\", \"a\", :1]"));
        Assert.That(sub.Read().ToString(), Is.EqualTo("[\"subscribe\", \"b\", :2]"));
        Assert.That(sub.Read().ToString(), Is.EqualTo("[\"subscribe\", \"a\", :2]"));
        sub.Send(RawClient.Encode("PSUBSCRIBE", "p*"));
        Assert.That(sub.Read().ToString(), Is.EqualTo("[\"psubscribe\", \"p*\", :3]"));
        sub.Send(RawClient.Encode("UNSUBSCRIBE", "b", "nosuch"));
        Assert.That(sub.Read().ToString(), Is.EqualTo("[\"unsubscribe\", \"b\", :2]"));
        Assert.That(sub.Read().ToString(), Is.EqualTo("[\"unsubscribe\", \"nosuch\", :2]"));
        sub.Send(RawClient.Encode("UNSUBSCRIBE"));
        Assert.That(sub.Read().ToString(), Is.EqualTo("[\"unsubscribe\", \"a\", :1]"));
        sub.Send(RawClient.Encode("PUNSUBSCRIBE"));
        Assert.That(sub.Read().ToString(), Is.EqualTo("[\"punsubscribe\", \"p*\", :0]"));
        // Not in subscriber mode any more: ordinary commands work again.
        RespAssert.IsSimple(sub.Call("PING"), "PONG");
    }

    [Test]
    public void Unsubscribe_WithNoSubscriptions_RepliesNilChannelAndZero()
    {
        Assert.That(Call("UNSUBSCRIBE").ToString(), Is.EqualTo("[\"unsubscribe\", (nil), :0]"));
        Assert.That(Call("PUNSUBSCRIBE").ToString(), Is.EqualTo("[\"punsubscribe\", (nil), :0]"));
        Assert.That(Call("SUNSUBSCRIBE").ToString(), Is.EqualTo("[\"sunsubscribe\", (nil), :0]"));
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    [Test]
    public void Publish_DeliversToChannelAndPatternSubscribers_AndCountsReceivers()
    {
        using var a = Subscriber("SUBSCRIBE", "news.tech");
        using var b = Subscriber("PSUBSCRIBE", "news.*");
        using var c = Subscriber("SUBSCRIBE", "other");
        RespAssert.IsInteger(Call("PUBLISH", "news.tech", "hello"), 2);
        RespAssert.IsInteger(Call("PUBLISH", "news.art", "paint"), 1);
        RespAssert.IsInteger(Call("PUBLISH", "nobody", "x"), 0);
        IsMessage(a.Read(), "message", "news.tech", "hello");
        IsMessage(b.Read(), "pmessage", "news.*", "news.tech", "hello");
        IsMessage(b.Read(), "pmessage", "news.*", "news.art", "paint");
        Assert.That(a.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty);
        Assert.That(c.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty);
    }

    [Test]
    public void Publish_BinaryPayload_ArrivesIntact()
    {
        using var sub = Subscriber("SUBSCRIBE", "bin");
        var payload = new byte[70_000];
        new Random(7).NextBytes(payload);
        RespAssert.IsInteger(Client.Call(Encoding.UTF8.GetBytes("PUBLISH"), Encoding.UTF8.GetBytes("bin"), payload), 1);
        var m = sub.Read();
        Assert.That(m.Items![2].Bytes, Is.EqualTo(payload));
    }

    [Test]
    public void Publish_PipelinedBurst_ArrivesCompleteAndInOrder()
    {
        using var sub = Subscriber("SUBSCRIBE", "burst");
        using var sub2 = Subscriber("PSUBSCRIBE", "bur*");
        const int N = 2000;
        var batch = new MemoryStream();
        for (int i = 0; i < N; i++) batch.Write(RawClient.Encode("PUBLISH", "burst", "m" + i));
        Client.Send(batch.ToArray());
        for (int i = 0; i < N; i++) RespAssert.IsInteger(Client.Read(), 2);
        for (int i = 0; i < N; i++) IsMessage(sub.Read(), "message", "burst", "m" + i);
        for (int i = 0; i < N; i++) IsMessage(sub2.Read(), "pmessage", "bur*", "burst", "m" + i);
    }

    [Test]
    public void Publish_FromManyConcurrentPublishers_EveryMessageArrivesOnce()
    {
        using var sub = Subscriber("SUBSCRIBE", "many");
        const int Publishers = 4, PerPublisher = 500;
        var tasks = Enumerable.Range(0, Publishers).Select(p => Task.Run(() =>
        {
            using var pub = NewClient();
            for (int i = 0; i < PerPublisher; i++) RespAssert.IsInteger(pub.Call("PUBLISH", "many", $"{p}:{i}"), 1);
        })).ToArray();
        var seen = new HashSet<string>();
        var lastPerPublisher = new int[Publishers];
        Array.Fill(lastPerPublisher, -1);
        for (int n = 0; n < Publishers * PerPublisher; n++)
        {
            var m = sub.Read().AsStrings();
            Assert.That(seen.Add(m[2]!), Is.True, $"duplicate {m[2]}");
            var parts = m[2]!.Split(':');
            int p = int.Parse(parts[0], CultureInfo.InvariantCulture), i = int.Parse(parts[1], CultureInfo.InvariantCulture);
            Assert.That(i, Is.EqualTo(lastPerPublisher[p] + 1), "one publisher's messages arrive in order");
            lastPerPublisher[p] = i;
        }
        Task.WaitAll(tasks);
    }

    [Test]
    public void Replies_And_Messages_InterleaveWithoutCorruption()
    {
        // The subscriber keeps sending commands (PING, SUBSCRIBE/UNSUBSCRIBE of another channel) while
        // messages flow to it from two publishers: every frame must parse, every reply must come in
        // order, and no message may be lost or duplicated.
        using var sub = Subscriber("SUBSCRIBE", "mix");
        const int PerPublisher = 3000;
        var publishers = Enumerable.Range(0, 2).Select(p => Task.Run(() =>
        {
            using var pub = NewClient();
            var batch = new MemoryStream();
            for (int i = 0; i < PerPublisher; i++)
            {
                batch.Write(RawClient.Encode("PUBLISH", "mix", $"{p}:{i}"));
                if (i % 100 == 99)
                {
                    pub.Send(batch.ToArray());
                    batch.SetLength(0);
                    for (int k = 0; k < 100; k++) RespAssert.IsInteger(pub.Read(), 1);
                }
            }
        })).ToArray();
        int pings = 0, pongs = 0, toggles = 0, toggled = 0;
        var next = new int[2];
        var sendMore = new MemoryStream();
        while (next[0] < PerPublisher || next[1] < PerPublisher || pongs < pings || toggled < toggles)
        {
            if (pings < 2000)
            {
                sendMore.SetLength(0);
                sendMore.Write(RawClient.Encode("PING", "p" + pings++));
                if (pings % 10 == 0) sendMore.Write(RawClient.Encode(toggles++ % 2 == 0 ? "SUBSCRIBE" : "UNSUBSCRIBE", "other"));
                sub.Send(sendMore.ToArray());
            }
            var frame = sub.Read().AsStrings();
            switch (frame[0])
            {
                case "message":
                    var parts = frame[2]!.Split(':');
                    int p = int.Parse(parts[0], CultureInfo.InvariantCulture);
                    Assert.That(int.Parse(parts[1], CultureInfo.InvariantCulture), Is.EqualTo(next[p]), "messages of one publisher in order");
                    next[p]++;
                    break;
                case "pong":
                    Assert.That(frame[1], Is.EqualTo("p" + pongs), "replies in order");
                    pongs++;
                    break;
                case "subscribe":
                case "unsubscribe":
                    Assert.That(frame[0], Is.EqualTo(toggled++ % 2 == 0 ? "subscribe" : "unsubscribe"));
                    Assert.That(frame[1], Is.EqualTo("other"));
                    break;
                default:
                    Assert.Fail("unexpected frame " + string.Join(",", frame));
                    break;
            }
        }
        Task.WaitAll(publishers);
        Assert.That(sub.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty);
    }

    [Test]
    public void SubscribersComingAndGoingUnderLoad_LeaveNoMemoryBehind()
    {
        long before = UsedMemory(Client);
        using var stop = new CancellationTokenSource();
        var publisher = Task.Run(() =>
        {
            using var pub = NewClient();
            var payload = new string('p', 2000);
            long sent = 0;
            while (!stop.IsCancellationRequested)
            {
                pub.Call("PUBLISH", "churn." + (sent++ % 4), payload);
            }
            return sent;
        });
        // Subscribers that read a little, or nothing, then vanish (some close with messages in flight).
        for (int round = 0; round < 5; round++)
        {
            var subs = new List<RawClient>();
            for (int i = 0; i < 40; i++)
                subs.Add(i % 2 == 0 ? Subscriber("SUBSCRIBE", "churn.0", "churn.1") : Subscriber("PSUBSCRIBE", "churn.*"));
            foreach (var (s, i) in subs.Select((s, i) => (s, i)))
                if (i % 3 == 0) s.Read();
            foreach (var s in subs) s.Dispose();
        }
        stop.Cancel();
        Assert.That(publisher.Result, Is.GreaterThan(0));
        Assert.That(Eventually(() => Call("PUBSUB", "NUMPAT").Integer == 0 && Call("PUBSUB", "CHANNELS").Items!.Length == 0, Wait), Is.True);
        // Every queue was freed with its connection (NativeKv counts them in used_memory).
        Assert.That(Eventually(() => UsedMemory(Client) - before < 512 * 1024, Wait), Is.True,
            $"used_memory {before} before, {UsedMemory(Client)} after");
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    [Test]
    public void SubscriberMode_Resp2_OnlySubscriptionCommandsPingQuitReset()
    {
        using var sub = Subscriber("SUBSCRIBE", "ch");
        RespAssert.IsError(sub.Call("GET", "k"), "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
        RespAssert.IsError(sub.Call("CONFIG", "GET", "port"), "ERR Can't execute 'config|get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
        RespAssert.IsError(sub.Call("PUBLISH", "ch", "x"), "ERR Can't execute 'publish': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
        // Arity and unknown commands are checked first, as in Redis.
        RespAssert.IsError(sub.Call("GET"), "ERR wrong number of arguments for 'get' command");
        RespAssert.IsErrorStartingWith(sub.Call("NOSUCH"), "ERR unknown command 'NOSUCH'");
        Assert.That(sub.Call("PING").ToString(), Is.EqualTo("[\"pong\", \"\"]"));
        Assert.That(sub.Call("PING", "hi").ToString(), Is.EqualTo("[\"pong\", \"hi\"]"));
        sub.Send(RawClient.Encode("PSUBSCRIBE", "x*"));
        Assert.That(sub.Read().ToString(), Is.EqualTo("[\"psubscribe\", \"x*\", :2]"));
        RespAssert.IsOk(sub.Call("QUIT"));
        Assert.That(sub.WaitForClose(Wait), Is.True);
    }

    [Test]
    public void Reset_DropsSubscriptionsAndMonitor()
    {
        using var sub = Subscriber("SUBSCRIBE", "rs");
        sub.Send(RawClient.Encode("PSUBSCRIBE", "rs*"));
        sub.Read();
        RespAssert.IsSimple(sub.Call("RESET"), "RESET");
        RespAssert.IsNil(sub.Call("GET", "k")); // out of subscriber mode
        Assert.That(Call("PUBSUB", "NUMSUB", "rs").ToString(), Is.EqualTo("[\"rs\", :0]"));
        RespAssert.IsInteger(Call("PUBSUB", "NUMPAT"), 0);
        using var mon = NewClient();
        RespAssert.IsOk(mon.Call("MONITOR"));
        RespAssert.IsSimple(mon.Call("RESET"), "RESET");
        RespAssert.IsOk(Call("SET", "k", "v"));
        Assert.That(mon.ReadRaw(TimeSpan.FromMilliseconds(300)), Is.Empty);
    }

    [Test]
    public void ShardChannels_AreSeparateFromChannelsAndPatterns()
    {
        using var s = NewClient();
        s.ReadTimeout = Wait;
        s.Send(RawClient.Encode("SSUBSCRIBE", "sh1", "sh2"));
        Assert.That(s.Read().ToString(), Is.EqualTo("[\"ssubscribe\", \"sh1\", :1]"));
        Assert.That(s.Read().ToString(), Is.EqualTo("[\"ssubscribe\", \"sh2\", :2]"));
        using var p = Subscriber("PSUBSCRIBE", "*");
        RespAssert.IsInteger(Call("SPUBLISH", "sh1", "one"), 1);
        RespAssert.IsInteger(Call("PUBLISH", "sh1", "two"), 1); // only the pattern subscriber
        IsMessage(s.Read(), "smessage", "sh1", "one");
        IsMessage(p.Read(), "pmessage", "*", "sh1", "two");
        Assert.That(s.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty);
        Assert.That(Call("PUBSUB", "SHARDCHANNELS").AsStrings().Order(), Is.EqualTo(new[] { "sh1", "sh2" }));
        Assert.That(Call("PUBSUB", "SHARDCHANNELS", "*2").AsStrings(), Is.EqualTo(new[] { "sh2" }));
        Assert.That(Call("PUBSUB", "SHARDNUMSUB", "sh1", "zz").ToString(), Is.EqualTo("[\"sh1\", :1, \"zz\", :0]"));
        Assert.That(Call("PUBSUB", "CHANNELS").AsStrings(), Is.Empty);
        s.Send(RawClient.Encode("SUNSUBSCRIBE", "sh1"));
        Assert.That(s.Read().ToString(), Is.EqualTo("[\"sunsubscribe\", \"sh1\", :1]"));
    }

    [Test]
    public void PubSubIntrospection_ChannelsNumsubNumpatHelpAndInfo()
    {
        using var a = Subscriber("SUBSCRIBE", "c1", "c2");
        using var b = Subscriber("SUBSCRIBE", "c1");
        using var p = Subscriber("PSUBSCRIBE", "c*", "d*");
        using var p2 = Subscriber("PSUBSCRIBE", "c*");
        Assert.That(Call("PUBSUB", "CHANNELS").AsStrings().Order(), Is.EqualTo(new[] { "c1", "c2" }));
        Assert.That(Call("PUBSUB", "CHANNELS", "*2").AsStrings(), Is.EqualTo(new[] { "c2" }));
        Assert.That(Call("PUBSUB", "NUMSUB", "c1", "c2", "c3").ToString(), Is.EqualTo("[\"c1\", :2, \"c2\", :1, \"c3\", :0]"));
        Assert.That(Call("PUBSUB", "NUMSUB").ToString(), Is.EqualTo("[]"));
        RespAssert.IsInteger(Call("PUBSUB", "NUMPAT"), 2);
        RespAssert.IsError(Call("PUBSUB", "NUMPAT", "x"), "ERR wrong number of arguments for 'pubsub|numpat' command");
        RespAssert.IsError(Call("PUBSUB", "CHANNELS", "a", "b"), "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.");
        RespAssert.IsErrorStartingWith(Call("PUBSUB", "NOPE"), "ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.");
        var help = Call("PUBSUB", "HELP").AsStrings();
        Assert.That(help[0], Is.EqualTo("PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
        Assert.That(help, Has.Length.EqualTo(14));
        Assert.That(help[^2], Is.EqualTo("HELP"));
        var clientList = Call("CLIENT", "LIST").Text!;
        Assert.That(clientList, Does.Contain(" flags=P ").And.Contain(" sub=2 psub=0 ssub=0 ").And.Contain(" sub=0 psub=2 ssub=0 "), clientList);
        string info = Call("INFO", "stats").Text!;
        Assert.That(info, Does.Contain("pubsub_channels:2\r\n"));
        Assert.That(info, Does.Contain("pubsub_patterns:2\r\n"));
        Assert.That(info, Does.Contain("pubsubshard_channels:0\r\n"));
    }

    [Test]
    public void ClosedSubscriber_IsForgotten()
    {
        var a = Subscriber("SUBSCRIBE", "gone");
        var p = Subscriber("PSUBSCRIBE", "gone*");
        RespAssert.IsInteger(Call("PUBLISH", "gone", "x"), 2);
        a.Dispose();
        p.Dispose();
        Assert.That(Eventually(() => Call("PUBSUB", "NUMSUB", "gone").Items![1].Integer == 0 && Call("PUBSUB", "NUMPAT").Integer == 0, Wait), Is.True);
        RespAssert.IsInteger(Call("PUBLISH", "gone", "x"), 0);
    }

    [Test]
    public void SelfPublish_Resp2SubscriberCannotPublish_ButAnotherConnectionOfTheSameProcessCan()
    {
        using var sub = Subscriber("SUBSCRIBE", "me");
        RespAssert.IsInteger(Call("PUBLISH", "me", "1"), 1);
        RespAssert.IsInteger(Call("PUBLISH", "me", "2"), 1);
        IsMessage(sub.Read(), "message", "me", "1");
        IsMessage(sub.Read(), "message", "me", "2");
    }

    // ---------------------------------------------------------------- RESP3

    /// <summary>HELLO 3 on a connection; false when the server does not have HELLO (it comes with the
    /// RESP3 work), so the RESP3 tests skip rather than pass.</summary>
    private static bool TryResp3(RawClient c)
    {
        c.Send(RawClient.Encode("HELLO", "3"));
        var raw = c.ReadRaw(Wait);
        if (raw.Length > 0 && raw[0] == (byte)'-') return false;
        Assert.That((char)raw[0], Is.EqualTo('%'), Encoding.UTF8.GetString(raw));
        return true;
    }

    [Test]
    public void Resp3_SubscribeAndMessagesArePushes_AndOtherCommandsStillRun()
    {
        using var sub = NewClient();
        sub.ReadTimeout = Wait;
        if (!TryResp3(sub)) Assert.Ignore("HELLO is not implemented on this branch yet (RESP3 comes with the intro work)");
        sub.Send(RawClient.Encode("SUBSCRIBE", "r3"));
        Assert.That(Encoding.UTF8.GetString(sub.ReadRaw(Wait)), Is.EqualTo(">3\r\n$9\r\nsubscribe\r\n$2\r\nr3\r\n:1\r\n"));
        sub.Send(RawClient.Encode("SET", "k", "v"));
        Assert.That(Encoding.UTF8.GetString(sub.ReadRaw(Wait)), Is.EqualTo("+OK\r\n"));
        RespAssert.IsInteger(Call("PUBLISH", "r3", "hi"), 1);
        Assert.That(Encoding.UTF8.GetString(sub.ReadRaw(Wait)), Is.EqualTo(">3\r\n$7\r\nmessage\r\n$2\r\nr3\r\n$2\r\nhi\r\n"));
        // Publishing to itself: the push comes before PUBLISH's own reply, as in Redis.
        sub.Send(RawClient.Encode("PUBLISH", "r3", "self"));
        Assert.That(Encoding.UTF8.GetString(sub.ReadRaw(Wait)), Is.EqualTo(">3\r\n$7\r\nmessage\r\n$2\r\nr3\r\n$4\r\nself\r\n:1\r\n"));
        sub.Send(RawClient.Encode("PING"));
        Assert.That(Encoding.UTF8.GetString(sub.ReadRaw(Wait)), Is.EqualTo("+PONG\r\n"));
    }

    // ---------------------------------------------------------------- keyspace notifications

    [Test]
    public void NotifyKeyspaceEvents_ConfigSyntax()
    {
        try
        {
            foreach (var (set, get) in new[] { ("KEA", "AKE"), ("", ""), ("Kx$", "$xK"), ("Elshz", "lshzE"), ("AKEm", "AKEm"), ("gn", "gn"), ("g$lshzxetdKE", "AKE") })
            {
                RespAssert.IsOk(Call("CONFIG", "SET", "notify-keyspace-events", set));
                Assert.That(Call("CONFIG", "GET", "notify-keyspace-events").AsStrings()[1], Is.EqualTo(get), set);
            }
            RespAssert.IsError(Call("CONFIG", "SET", "notify-keyspace-events", "KQ"),
                "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        }
        finally
        {
            Call("CONFIG", "SET", "notify-keyspace-events", "");
        }
    }

    [Test]
    public void NotifyKeyspaceEvents_CommandsPublishRedisEventNames()
    {
        using var events = Subscriber("PSUBSCRIBE", "__keyevent@*__:*");
        using var space = Subscriber("SUBSCRIBE", "__keyspace@0__:s");
        try
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "notify-keyspace-events", "KEA"));
            string[][] commands =
            [
                ["SET", "s", "v"], ["SET", "s", "v", "EX", "100"], ["APPEND", "s", "x"], ["SETRANGE", "s", "0", "y"], ["INCRBY", "n", "5"],
                ["INCR", "n"], ["INCRBYFLOAT", "f", "1.5"], ["EXPIRE", "s", "50"], ["PERSIST", "s"], ["RENAME", "s", "s2"], ["DEL", "s2", "nokey"],
                ["MSET", "a", "1", "b", "2"], ["GETDEL", "a"], ["COPY", "b", "b2"], ["MOVE", "b2", "1"], ["SET", "nx", "1", "NX"], ["SET", "nx", "2", "NX"],
                ["LPUSH", "l", "1", "2"], ["RPUSH", "l", "3"], ["LSET", "l", "0", "x"], ["LINSERT", "l", "BEFORE", "x", "y"], ["LREM", "l", "1", "y"],
                ["LTRIM", "l", "0", "1"], ["LMOVE", "l", "l2", "LEFT", "RIGHT"], ["RPOP", "l"], ["RPOP", "l"],
                ["HSET", "h", "f", "1"], ["HINCRBY", "h", "n", "2"], ["HINCRBYFLOAT", "h", "x", "0.5"], ["HDEL", "h", "f", "n", "x"],
                ["SADD", "st", "a", "b"], ["SADD", "st", "a"], ["SREM", "st", "a"], ["SMOVE", "st", "st2", "b"], ["SADD", "u", "1"], ["SUNIONSTORE", "u2", "u", "st2"],
                ["ZADD", "z", "1", "a", "2", "b"], ["ZINCRBY", "z", "5", "a"], ["ZREM", "z", "a"], ["ZADD", "z", "3", "c"], ["ZREMRANGEBYSCORE", "z", "0", "2"],
                ["ZPOPMIN", "z"], ["ZADD", "z3", "1", "q"], ["ZUNIONSTORE", "z4", "1", "z3"],
                ["PEXPIRE", "z4", "1"],
            ];
            foreach (var cmd in commands) Assert.That(Call(cmd).IsError, Is.False, string.Join(' ', cmd));
            string[] expected =
            [
                "set s", "set s", "expire s", "append s", "setrange s", "incrby n", "incrby n", "incrbyfloat f", "expire s", "persist s",
                "rename_from s", "rename_to s2", "del s2", "set a", "set b", "del a", "copy_to b2", "move_from b2", "move_to@1 b2", "set nx",
                "lpush l", "rpush l", "lset l", "linsert l", "lrem l", "ltrim l", "rpush l2", "lpop l", "rpop l", "del l",
                "hset h", "hincrby h", "hincrbyfloat h", "hdel h", "del h",
                "sadd st", "srem st", "srem st", "del st", "sadd st2", "sadd u", "sunionstore u2",
                "zadd z", "zincr z", "zrem z", "zadd z", "zremrangebyscore z", "zpopmin z", "del z", "zadd z3", "zunionstore z4",
                "expire z4", "expired z4",
            ];
            var got = new List<string>();
            foreach (var _ in expected)
            {
                var m = events.Read().AsStrings(); // pmessage pattern channel key
                var channel = m[2]!;
                var evt = channel[(channel.IndexOf(':') + 1)..];
                var db = channel["__keyevent@".Length..channel.IndexOf("__:", StringComparison.Ordinal)];
                got.Add(db == "0" ? $"{evt} {m[3]}" : $"{evt}@{db} {m[3]}");
            }
            Assert.That(got, Is.EqualTo(expected));
            // The keyspace channel carries the event names for one key.
            var keyspace = new List<string>();
            for (int i = 0; i < 8; i++) keyspace.Add(space.Read().AsStrings()[2]!);
            Assert.That(keyspace, Is.EqualTo(new[] { "set", "set", "expire", "append", "setrange", "expire", "persist", "rename_from" }));
            Assert.That(space.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty);
        }
        finally
        {
            Call("CONFIG", "SET", "notify-keyspace-events", "");
        }
    }

    [Test]
    public void NotifyKeyspaceEvents_NewKeys()
    {
        using var events = Subscriber("PSUBSCRIBE", "__keyevent@*__:*");
        try
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "notify-keyspace-events", "EAn"));
            string[][] commands =
            [
                ["SET", "a", "1"], ["SET", "a", "2"], ["RENAME", "a", "b"], ["LPUSH", "l", "x"], ["HSET", "h", "f", "v"], ["SADD", "s", "m"],
                ["ZADD", "z", "1", "m"], ["INCR", "n"], ["APPEND", "ap", "x"], ["SETRANGE", "sr", "0", "x"], ["SUNIONSTORE", "su", "s"],
                ["SUNIONSTORE", "su", "s"], ["LMOVE", "l", "l2", "LEFT", "LEFT"], ["COPY", "s", "s2"], ["MOVE", "s2", "1"], ["MSET", "a", "1", "b", "2"],
            ];
            foreach (var cmd in commands) Assert.That(Call(cmd).IsError, Is.False, string.Join(' ', cmd));
            var dump = Client.Call(Encoding.UTF8.GetBytes("DUMP"), Encoding.UTF8.GetBytes("a")).Bytes!;
            RespAssert.IsOk(Client.Call(Encoding.UTF8.GetBytes("RESTORE"), Encoding.UTF8.GetBytes("r"), Encoding.UTF8.GetBytes("0"), dump));
            RespAssert.IsOk(Client.Call(Encoding.UTF8.GetBytes("RESTORE"), Encoding.UTF8.GetBytes("r"), Encoding.UTF8.GetBytes("0"), dump, Encoding.UTF8.GetBytes("REPLACE")));
            string[] expected =
            [
                "new a", "set a", "set a", "new b", "rename_from a", "rename_to b", "new l", "lpush l", "new h", "hset h", "new s", "sadd s",
                "new z", "zadd z", "new n", "incrby n", "new ap", "append ap", "new sr", "setrange sr", "new su", "sunionstore su",
                "sunionstore su", "new l2", "lpush l2", "lpop l", "del l", "new s2", "copy_to s2", "new@1 s2", "move_from s2", "move_to@1 s2",
                "new a", "set a", "set b", "new r", "restore r", "new r", "restore r",
            ];
            var got = new List<string>();
            foreach (var _ in expected)
            {
                var m = events.Read().AsStrings();
                var channel = m[2]!;
                var evt = channel[(channel.IndexOf(':') + 1)..];
                var db = channel["__keyevent@".Length..channel.IndexOf("__:", StringComparison.Ordinal)];
                got.Add(db == "0" ? $"{evt} {m[3]}" : $"{evt}@{db} {m[3]}");
            }
            Assert.That(got, Is.EqualTo(expected));
        }
        finally
        {
            Call("CONFIG", "SET", "notify-keyspace-events", "");
        }
    }

    [Test]
    public void NotifyKeyspaceEvents_PopsServedToBlockedClients()
    {
        using var events = Subscriber("PSUBSCRIBE", "__keyevent@0__:*");
        try
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "notify-keyspace-events", "El$gz"));
            using var blocked = NewClient();
            blocked.ReadTimeout = Wait;
            blocked.Send(RawClient.Encode("BLPOP", "bl", "0"));
            using var zblocked = NewClient();
            zblocked.ReadTimeout = Wait;
            zblocked.Send(RawClient.Encode("BZPOPMAX", "bz", "0"));
            Assert.That(Eventually(() => Call("INFO", "clients").Text!.Contains("blocked_clients:2\r\n"), Wait), Is.True);
            RespAssert.IsInteger(Call("RPUSH", "bl", "x"), 1);
            Assert.That(blocked.Read().AsStrings(), Is.EqualTo(new[] { "bl", "x" }));
            RespAssert.IsInteger(Call("ZADD", "bz", "1", "m"), 1);
            Assert.That(zblocked.Read().AsStrings(), Is.EqualTo(new[] { "bz", "m", "1" }));
            var got = new List<string>();
            for (int i = 0; i < 6; i++)
            {
                var m = events.Read().AsStrings();
                got.Add(m[2]!["__keyevent@0__:".Length..] + " " + m[3]);
            }
            Assert.That(got, Is.EqualTo(new[] { "rpush bl", "lpop bl", "del bl", "zadd bz", "zpopmax bz", "del bz" }));
        }
        finally
        {
            Call("CONFIG", "SET", "notify-keyspace-events", "");
        }
    }

    [Test]
    public void NotifyKeyspaceEvents_EvictedKeys()
    {
        using var events = Subscriber("SUBSCRIBE", "__keyevent@0__:evicted");
        try
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "notify-keyspace-events", "Ee"));
            RespAssert.IsOk(Call("CONFIG", "SET", "maxmemory-policy", "allkeys-random"));
            RespAssert.IsOk(Call("CONFIG", "SET", "maxmemory", (UsedMemory(Client) + 2 * 1024 * 1024).ToString(CultureInfo.InvariantCulture)));
            var value = new string('v', 1000);
            for (int i = 0; i < 10_000; i++) RespAssert.IsOk(Call("SET", "ev:" + i, value));
            var m = events.Read().AsStrings();
            Assert.That(m[0], Is.EqualTo("message"));
            Assert.That(m[2], Does.StartWith("ev:"));
        }
        finally
        {
            Call("CONFIG", "SET", "maxmemory", "0");
            Call("CONFIG", "SET", "maxmemory-policy", "noeviction");
            Call("CONFIG", "SET", "notify-keyspace-events", "");
        }
    }

    [Test]
    public void NotifyKeyspaceEvents_OnlyEnabledClasses_AndNothingWhenEmpty()
    {
        using var events = Subscriber("PSUBSCRIBE", "__key*");
        try
        {
            RespAssert.IsOk(Call("SET", "quiet", "1"));
            RespAssert.IsOk(Call("CONFIG", "SET", "notify-keyspace-events", "Kl"));
            RespAssert.IsOk(Call("SET", "quiet", "2"));
            RespAssert.IsInteger(Call("LPUSH", "list", "a"), 1);
            IsMessage(events.Read(), "pmessage", "__key*", "__keyspace@0__:list", "lpush");
            Assert.That(events.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty);
        }
        finally
        {
            Call("CONFIG", "SET", "notify-keyspace-events", "");
        }
    }

    // ---------------------------------------------------------------- MONITOR

    [GeneratedRegex(@"^(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$")]
    private static partial Regex MonitorLine();

    [Test]
    public void Monitor_StreamsOtherClientsCommands()
    {
        using var mon = NewClient();
        mon.ReadTimeout = Wait;
        RespAssert.IsOk(mon.Call("MONITOR"));
        using var other = NewClient();
        RespAssert.IsOk(other.Call("SET", "k", "va\"l\n\u0001"));
        RespAssert.IsOk(other.Call("SELECT", "2"));
        other.Call("CONFIG", "GET", "port"); // admin: not shown
        RespAssert.IsBulk(other.Call("ECHO", "last"), "last");
        var lines = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var line = mon.Read();
            Assert.That(line.Type, Is.EqualTo(RespType.SimpleString), line.ToString());
            lines.Add(line.Text!);
        }
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var parsed = lines.Select(l => MonitorLine().Match(l)).ToArray();
        Assert.That(parsed.All(m => m.Success), Is.True, string.Join("\n", lines));
        Assert.That(parsed.All(m => Math.Abs(long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) - now) < 60), Is.True, string.Join("\n", lines));
        Assert.That(parsed[0].Groups[4].Value, Does.StartWith("127.0.0.1:"));
        Assert.That(parsed.Select(m => m.Groups[3].Value + " " + m.Groups[5].Value), Is.EqualTo(new[]
        {
            "0 \"SET\" \"k\" \"va\\\"l\\n\\x01\"",
            "2 \"SELECT\" \"2\"",
            "2 \"ECHO\" \"last\"",
        }));
        Assert.That(mon.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty);
    }

    [Test]
    public void Monitor_RedactsAuthAndHelloCredentials()
    {
        using var mon = NewClient();
        mon.ReadTimeout = Wait;
        RespAssert.IsOk(mon.Call("MONITOR"));
        using var other = NewClient();
        var auth = other.Call("AUTH", "user", "secret");
        if (auth.IsError && auth.Text!.StartsWith("ERR unknown command", StringComparison.Ordinal))
            Assert.Ignore("AUTH is not implemented on this branch yet (it comes with the security work)");
        Assert.That(mon.Read().Text, Does.EndWith("\"AUTH\" \"(redacted)\" \"(redacted)\""));
        var hello = other.Call("HELLO", "2", "AUTH", "user", "secret", "SETNAME", "n");
        if (!(hello.IsError && hello.Text!.StartsWith("ERR unknown command", StringComparison.Ordinal)))
            Assert.That(mon.Read().Text, Does.EndWith("\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"n\""));
        Assert.That(mon.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty);
    }

    [Test]
    public void Monitor_SecondMonitorIsIgnored_AndClosingStopsTheFeed()
    {
        var mon = NewClient();
        mon.ReadTimeout = Wait;
        RespAssert.IsOk(mon.Call("MONITOR"));
        mon.Send(RawClient.Encode("MONITOR"));
        Assert.That(mon.ReadRaw(TimeSpan.FromMilliseconds(300)), Is.Empty);
        mon.Dispose();
        // The server goes on serving everyone after the monitor left.
        for (int i = 0; i < 100; i++) RespAssert.IsOk(Call("SET", "k" + i, "v"));
        RespAssert.IsInteger(Call("DBSIZE"), 100);
    }

    [Test]
    public void Scripts_PublishOnce_AndMonitorShowsTheirCommandsAfterTheScript()
    {
        using var sub = Subscriber("SUBSCRIBE", "sch");
        using var mon = NewClient();
        mon.ReadTimeout = Wait;
        RespAssert.IsOk(mon.Call("MONITOR"));
        RespAssert.IsInteger(Call("EVAL", "redis.call('set', KEYS[1], 'v') return redis.call('publish', 'sch', ARGV[1])", "1", "sk", "hello"), 1);
        IsMessage(sub.Read(), "message", "sch", "hello");
        Assert.That(sub.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty, "delivered once");
        var lines = Enumerable.Range(0, 3).Select(_ => MonitorLine().Match(mon.Read().Text!)).ToArray();
        Assert.That(lines.Select(m => m.Groups[4].Value + " " + m.Groups[5].Value).ToArray(), Is.EqualTo(new[]
        {
            lines[0].Groups[4].Value + " \"EVAL\" \"redis.call('set', KEYS[1], 'v') return redis.call('publish', 'sch', ARGV[1])\" \"1\" \"sk\" \"hello\"",
            "lua \"set\" \"sk\" \"v\"",
            "lua \"publish\" \"sch\" \"hello\"",
        }));
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void Scripts_ThatFail_PublishNothing()
    {
        // NativeKv rolls a failed script back, and what it published goes with it (Redis delivers it).
        TestTarget.RequireNativeKv();
        using var sub = Subscriber("SUBSCRIBE", "fail");
        RespAssert.IsErrorStartingWith(Call("EVAL", "redis.call('publish', 'fail', 'x') redis.call('set', 'k', 'v') error('boom')", "0"), "ERR user_script:1: boom");
        Assert.That(sub.ReadRaw(TimeSpan.FromMilliseconds(300)), Is.Empty);
        RespAssert.IsNil(Call("GET", "k"));
    }

    // ---------------------------------------------------------------- client-output-buffer-limit

    [Test]
    public void OutputBufferLimit_ConfigSyntax()
    {
        try
        {
            Assert.That(Call("CONFIG", "GET", "client-output-buffer-limit").AsStrings()[1],
                Is.EqualTo("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"));
            RespAssert.IsOk(Call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 10"));
            Assert.That(Call("CONFIG", "GET", "client-output-buffer-limit").AsStrings()[1],
                Is.EqualTo("normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10"));
            RespAssert.IsOk(Call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 60"));
            Assert.That(Call("CONFIG", "GET", "client-output-buffer-limit").AsStrings()[1],
                Is.EqualTo("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"));
            const string Prefix = "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - ";
            RespAssert.IsError(Call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb"), Prefix + "Wrong number of arguments in buffer limit configuration.");
            RespAssert.IsError(Call("CONFIG", "SET", "client-output-buffer-limit", "nobody 1mb 1mb 1"), Prefix + "Invalid client class specified in buffer limit configuration.");
            RespAssert.IsError(Call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1xb 1mb 1"), Prefix + "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
        }
        finally
        {
            Call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 60");
        }
    }

    [Test]
    public void Configuration_FromFileAndCommandLine()
    {
        var dir = Directory.CreateTempSubdirectory("nativekv-pubsub-conf-");
        try
        {
            string conf = Path.Combine(dir.FullName, "pubsub.conf");
            File.WriteAllText(conf, "client-output-buffer-limit normal 1mb 512kb 10\nclient-output-buffer-limit pubsub 2mb 1mb 30\nnotify-keyspace-events Kx\n");
            using var server = ServerProcess.Start(new ServerOptions { ConfigFile = conf, ExtraArgs = ["--client-output-buffer-limit", "replica", "64mb", "16mb", "90"] });
            using var c = server.Connect();
            Assert.That(c.Call("CONFIG", "GET", "client-output-buffer-limit").AsStrings()[1],
                Is.EqualTo("normal 1048576 524288 10 slave 67108864 16777216 90 pubsub 2097152 1048576 30"));
            Assert.That(c.Call("CONFIG", "GET", "notify-keyspace-events").AsStrings()[1], Is.EqualTo("xK"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static long UsedMemory(RawClient c)
    {
        var m = Regex.Match(c.Call("INFO", "memory").Text!, @"used_memory:(\d+)");
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Publishes <paramref name="count"/> messages of <paramref name="size"/> bytes, pipelined in
    /// batches; returns the receiver counts.</summary>
    private List<long> PublishMany(string channel, int count, int size)
    {
        var payload = new string('x', size);
        var counts = new List<long>();
        const int Batch = 50;
        for (int done = 0; done < count; done += Batch)
        {
            var buf = new MemoryStream();
            int n = Math.Min(Batch, count - done);
            for (int i = 0; i < n; i++) buf.Write(RawClient.Encode("PUBLISH", channel, payload));
            Client.Send(buf.ToArray());
            for (int i = 0; i < n; i++) counts.Add(Client.Read().Integer);
        }
        return counts;
    }

    [Test]
    public void OutputBufferLimit_HardLimit_ClosesASubscriberThatNeverReads_MemoryStaysBounded()
    {
        // 4 MB: room for the reading subscriber to fall a few 800 KB batches behind on a loaded machine.
        RespAssert.IsOk(Call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 4mb 0 0"));
        try
        {
            // A subscriber that never reads: its socket buffers fill, then the server's queue.
            var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
            stalled.Connect("127.0.0.1", Server.Port);
            stalled.Send(RawClient.Encode("SUBSCRIBE", "flood"));
            using var reader = Subscriber("SUBSCRIBE", "flood"); // a healthy subscriber that reads
            Assert.That(Eventually(() => Call("PUBSUB", "NUMSUB", "flood").Items![1].Integer == 2, Wait), Is.True);
            long before = UsedMemory(Client);
            long peak = 0;
            var readAll = Task.Run(() =>
            {
                int got = 0;
                while (got < 3000)
                {
                    reader.Read();
                    got++;
                }
            });
            // 3000 x 16 KB = 48 MB published: far more than kernel buffers and the 4 MB limit hold.
            for (int round = 0; round < 6; round++)
            {
                PublishMany("flood", 500, 16 * 1024);
                peak = Math.Max(peak, UsedMemory(Client));
            }
            Assert.That(readAll.Wait(TimeSpan.FromSeconds(30)), Is.True, "the reading subscriber got every message");
            Assert.That(Eventually(() => Call("PUBSUB", "NUMSUB", "flood").Items![1].Integer == 1, Wait), Is.True,
                "the stalled subscriber was disconnected");
            Assert.That(peak - before, Is.LessThan(16L * 1024 * 1024), $"used_memory grew from {before} to {peak}");
            // The stalled socket sees the close once it drains what the kernel holds.
            stalled.ReceiveTimeout = 10_000;
            var sink = new byte[1 << 16];
            int total = 0, n;
            while ((n = stalled.Receive(sink)) > 0) total += n;
            Assert.That(total, Is.LessThan(48 * 1024 * 1024));
            stalled.Dispose();
            RespAssert.IsSimple(Call("PING"), "PONG");
        }
        finally
        {
            Call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 60");
        }
    }

    [Test]
    public void OutputBufferLimit_NormalClass_HardLimitClosesAClientWithAHugeReply()
    {
        RespAssert.IsOk(Client.Call(Encoding.UTF8.GetBytes("SET"), Encoding.UTF8.GetBytes("big"), new byte[2 * 1024 * 1024]));
        RespAssert.IsOk(Call("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"));
        try
        {
            using var reader = NewClient();
            RespAssert.IsInteger(reader.Call("STRLEN", "big"), 2 * 1024 * 1024);
            reader.Send(RawClient.Encode("GET", "big"));
            Assert.Throws<ServerClosedException>(() => reader.Read());
            RespAssert.IsSimple(Call("PING"), "PONG");
        }
        finally
        {
            Call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 60");
        }
    }

    [Test]
    public void StalledSubscriber_ShowsItsPendingOutputInClientList()
    {
        var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
        stalled.Connect("127.0.0.1", Server.Port);
        stalled.Send(RawClient.Encode("CLIENT", "SETNAME", "stalled"));
        stalled.Send(RawClient.Encode("SUBSCRIBE", "slow"));
        Assert.That(Eventually(() => Call("PUBSUB", "NUMSUB", "slow").Items![1].Integer == 1, Wait), Is.True);
        PublishMany("slow", 400, 16 * 1024); // 6.4 MB: more than the socket buffers, less than the limit
        var line = Call("CLIENT", "LIST").Text!.Split('\n').First(l => l.Contains("name=stalled"));
        var omem = long.Parse(Regex.Match(line, @" omem=(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.That(omem, Is.GreaterThan(1024 * 1024), line);
        stalled.Dispose();
    }

    [Test]
    public void OutputBufferLimit_SoftLimit_ClosesAfterTheGraceTime()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 256kb 1"));
        try
        {
            var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
            stalled.Connect("127.0.0.1", Server.Port);
            stalled.Send(RawClient.Encode("SUBSCRIBE", "soft"));
            Assert.That(Eventually(() => Call("PUBSUB", "NUMSUB", "soft").Items![1].Integer == 1, Wait), Is.True);
            // Over the soft limit, but kept while under it for less than a second...
            PublishMany("soft", 600, 16 * 1024);
            RespAssert.IsInteger(Call("PUBSUB", "NUMSUB", "soft").Items![1], 1);
            // ...and closed by a message that finds it over the limit for more than a second.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (Call("PUBSUB", "NUMSUB", "soft").Items![1].Integer == 1 && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(300);
                PublishMany("soft", 1, 100);
            }
            RespAssert.IsInteger(Call("PUBSUB", "NUMSUB", "soft").Items![1], 0);
            stalled.Dispose();
        }
        finally
        {
            Call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 60");
        }
    }
}
