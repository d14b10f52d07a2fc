// Pub/Sub through real clients: StackExchange.Redis's ISubscriber (channel and pattern subscriptions on
// its dedicated subscription connection), redis-cli in subscribe mode reading the messages it is sent,
// and redis-py's PubSub (get_message, psubscribe) run as a subprocess of Debian's python3. The installed
// redis-py (4.3) has no RESP3 support (protocol=3 came with 5.0), so it is used with RESP2 only.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;
using StackExchange.Redis;

namespace NativeKv.Tests.Integration;

public sealed class PubSubClientTests : ServerFixture
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private string Port => Server.Port.ToString(CultureInfo.InvariantCulture);

    [Test]
    public async Task StackExchangeRedis_ISubscriber_ChannelsAndPatterns()
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { { "127.0.0.1", Server.Port } },
            AbortOnConnectFail = true,
            ConnectTimeout = 5000,
            SyncTimeout = 5000,
            ConfigurationChannel = "",
            TieBreaker = "",
            CommandMap = CommandMap.Create(new HashSet<string> { "CLUSTER", "SENTINEL", "CLIENT" }, available: false),
        };
        using var mux = await ConnectionMultiplexer.ConnectAsync(options);
        var subscriber = mux.GetSubscriber();
        var channelMessages = new ConcurrentQueue<string>();
        var patternMessages = new ConcurrentQueue<(string Channel, string Message)>();
        const int N = 200;
        var allChannel = new TaskCompletionSource();
        var allPattern = new TaskCompletionSource();
        await subscriber.SubscribeAsync(RedisChannel.Literal("se.orders"), (_, m) =>
        {
            channelMessages.Enqueue(m!);
            if (channelMessages.Count == N) allChannel.TrySetResult();
        });
        await subscriber.SubscribeAsync(RedisChannel.Pattern("se.*"), (ch, m) =>
        {
            patternMessages.Enqueue((ch!, m!));
            if (patternMessages.Count == N + 1) allPattern.TrySetResult();
        });
        Assert.That(Call("PUBSUB", "NUMSUB", "se.orders").Items![1].Integer, Is.EqualTo(1));
        RespAssert.IsInteger(Call("PUBSUB", "NUMPAT"), 1);
        var receivers = new List<Task<long>>();
        for (int i = 0; i < N; i++) receivers.Add(mux.GetDatabase().PublishAsync(RedisChannel.Literal("se.orders"), "order " + i));
        receivers.Add(mux.GetDatabase().PublishAsync(RedisChannel.Literal("se.other"), "other"));
        var counts = await Task.WhenAll(receivers);
        Assert.That(counts.Take(N), Is.All.EqualTo(2));
        Assert.That(counts[N], Is.EqualTo(1));
        await Task.WhenAny(Task.WhenAll(allChannel.Task, allPattern.Task), Task.Delay(Wait));
        Assert.That(allChannel.Task.IsCompleted && allPattern.Task.IsCompleted, Is.True,
            $"channel got {channelMessages.Count}, pattern got {patternMessages.Count}");
        Assert.That(channelMessages.OrderBy(m => int.Parse(m[6..], CultureInfo.InvariantCulture)), Is.EqualTo(Enumerable.Range(0, N).Select(i => "order " + i)));
        Assert.That(patternMessages.Count(p => p.Channel == "se.other" && p.Message == "other"), Is.EqualTo(1));
        await subscriber.UnsubscribeAsync(RedisChannel.Literal("se.orders"));
        Assert.That(Eventually(() => Call("PUBSUB", "NUMSUB", "se.orders").Items![1].Integer == 0, Wait), Is.True);
        Assert.That(await mux.GetDatabase().PublishAsync(RedisChannel.Literal("se.orders"), "late"), Is.EqualTo(1)); // the pattern only
    }

    [Test]
    public void RedisCli_Subscribe_PrintsTheMessagesItReceives()
    {
        TestTarget.RequireTool(TestTarget.RedisCli, "redis-tools");
        var psi = new ProcessStartInfo(TestTarget.RedisCli)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "-h", "127.0.0.1", "-p", Port, "SUBSCRIBE", "cli.ch" }) psi.ArgumentList.Add(a);
        using var cli = Process.Start(psi)!;
        try
        {
            var lines = new BlockingCollection<string>();
            var pump = Task.Run(() =>
            {
                string? line;
                while ((line = cli.StandardOutput.ReadLine()) != null) lines.Add(line);
                lines.CompleteAdding();
            });
            string Next()
            {
                Assert.That(lines.TryTake(out var l, Wait), Is.True, "redis-cli printed nothing more");
                return l!;
            }
            Assert.That(new[] { Next(), Next(), Next() }, Is.EqualTo(new[] { "subscribe", "cli.ch", "1" }));
            const int N = 20;
            for (int i = 0; i < N; i++) RespAssert.IsInteger(Call("PUBLISH", "cli.ch", "hello " + i), 1);
            for (int i = 0; i < N; i++)
                Assert.That(new[] { Next(), Next(), Next() }, Is.EqualTo(new[] { "message", "cli.ch", "hello " + i }));
        }
        finally
        {
            cli.Kill();
            cli.WaitForExit();
        }
        Assert.That(Eventually(() => Call("PUBSUB", "NUMSUB", "cli.ch").Items![1].Integer == 0, Wait), Is.True);
    }

    private const string PythonScript = """
import json, sys, time, redis
port = int(sys.argv[1])
r = redis.Redis(host='127.0.0.1', port=port)
p = r.pubsub()
p.subscribe('py.ch')
p.psubscribe('py.*')
out = []
deadline = time.time() + 10
while len(out) < 2 and time.time() < deadline:
    m = p.get_message(timeout=1.0)
    if m: out.append([m['type'], m['channel'].decode(), m['pattern'] and m['pattern'].decode(), m['data']])
counts = [r.publish('py.ch', 'one'), r.publish('py.other', 'two')]
while len(out) < 5 and time.time() < deadline:
    m = p.get_message(timeout=1.0)
    if m: out.append([m['type'], m['channel'].decode(), m['pattern'] and m['pattern'].decode(), m['data'].decode()])
numsub = r.pubsub_numsub('py.ch')
p.unsubscribe('py.ch')
p.punsubscribe()
while len(out) < 7 and time.time() < deadline:
    m = p.get_message(timeout=1.0)
    if m: out.append([m['type'], m['channel'].decode(), m['pattern'] and m['pattern'].decode(), m['data']])
p.close()
print(json.dumps({'messages': out, 'counts': counts, 'numsub': [[c.decode(), n] for c, n in numsub], 'numpat': r.pubsub_numpat()}))
""";

    [Test]
    public void RedisPy_PubSub_GetMessage_SubscribeAndPsubscribe()
    {
        const string Python = "/usr/bin/python3";
        TestTarget.RequireTool(Python, "python3-redis");
        var result = ProcessRunner.Run(Python, ["-c", PythonScript, Port], null, TimeSpan.FromSeconds(60));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.StdOut.Trim(), Is.EqualTo(
            "{\"messages\": [[\"subscribe\", \"py.ch\", null, 1], [\"psubscribe\", \"py.*\", null, 2], "
            + "[\"message\", \"py.ch\", null, \"one\"], [\"pmessage\", \"py.ch\", \"py.*\", \"one\"], [\"pmessage\", \"py.other\", \"py.*\", \"two\"], "
            + "[\"unsubscribe\", \"py.ch\", null, 1], [\"punsubscribe\", \"py.*\", null, 0]], "
            + "\"counts\": [2, 1], \"numsub\": [[\"py.ch\", 1]], \"numpat\": 0}"), result.ToString());
    }
}
