// Many clients at once. Redis is single-threaded, so these hold there by construction; NativeKv runs
// commands on several threads with per-shard locks, so they check that no update is lost, that a
// multi-key command is seen whole, and that connections come and go (or die mid-command) cleanly.
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class ConcurrencyTests : ServerFixture
{
    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Runs <paramref name="count"/> workers on dedicated threads (not the thread pool, which on two cores
    /// would start them one by one), released together; fails with the first worker's failure.
    /// </summary>
    private static void RunTogether(int count, Action<int> work, TimeSpan timeout)
    {
        using var start = new Barrier(count);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                work(i);
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        }) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        var deadline = DateTime.UtcNow + timeout;
        foreach (var t in threads)
        {
            var left = deadline - DateTime.UtcNow;
            Assert.That(left > TimeSpan.Zero && t.Join(left), Is.True, $"workers did not finish within {timeout.TotalSeconds} s");
        }
        if (errors.TryDequeue(out var first))
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
        }
    }

    [Test]
    public void ParallelIncrements_NoneIsLost()
    {
        const int Clients = 8;
        const int PerClient = 2000;
        const int Batch = 200;
        RunTogether(Clients, _ =>
        {
            using var c = NewClient();
            long last = 0;
            var request = Enumerable.Range(0, Batch).SelectMany(_ => RawClient.Encode("INCR", "counter")).ToArray();
            for (int sent = 0; sent < PerClient; sent += Batch)
            {
                c.Send(request);
                for (int i = 0; i < Batch; i++)
                {
                    long v = RespAssert.IsAnyInteger(c.Read());
                    Assert.That(v, Is.GreaterThan(last), "one client's INCR replies must increase");
                    last = v;
                }
            }
        }, TimeSpan.FromSeconds(60));
        RespAssert.IsBulk(Call("GET", "counter"), S(Clients * PerClient));
    }

    [Test]
    public void PipelinedHotKeyBatches_MixedWithMultiShardCommandsAndEviction_NeitherDeadlockNorLose()
    {
        // A batch keeps the hot key's shard lock from one single-key command to the next (Dispatcher's
        // batch lock), until its commands have changed shards a few times. Interleave such batches with commands that lock several shards (MSET, RENAME),
        // wake blocked clients (LPUSH for a BLPOP) and evict (maxmemory switched on mid-way): every
        // path that must release the batch lock first is crossed by other threads' batches.
        const int Clients = 4;
        const int Rounds = 40;
        using (var blocked = NewClient())
        {
            blocked.Send(RawClient.Encode("BLPOP", "wake", "0"));
            RunTogether(Clients, w =>
            {
                using var c = NewClient();
                for (int r = 0; r < Rounds; r++)
                {
                    var batch = new List<byte[]>();
                    for (int i = 0; i < 50; i++) batch.Add(RawClient.Encode("INCR", "hot"));
                    // Keys all over the shards: the batch stops keeping the lock (after a few changes).
                    for (int i = 0; i < 10; i++) batch.Add(RawClient.Encode("SET", $"spread:{w}:{i}", S(r)));
                    batch.Add(RawClient.Encode("MSET", "hot2", S(r), "k" + S(w), S(r), "k" + S(w + 10), S(r)));
                    for (int i = 0; i < 20; i++) batch.Add(RawClient.Encode("SADD", "hotset", S(w * 1000 + r * 20 + i)));
                    batch.Add(RawClient.Encode("RENAME", "k" + S(w), "k" + S(w + 20)));
                    if (w == 0 && r == Rounds / 2) batch.Add(RawClient.Encode("LPUSH", "wake", "x"));
                    if (w == 1 && r == Rounds / 2) batch.Add(RawClient.Encode("CONFIG", "SET", "maxmemory", "1gb"));
                    for (int i = 0; i < 50; i++) batch.Add(RawClient.Encode("INCR", "hot"));
                    c.Send(batch.SelectMany(b => b).ToArray());
                    for (int i = 0; i < batch.Count; i++) c.Read();
                }
            }, TimeSpan.FromSeconds(60));
            Assert.That(blocked.Read().AsStrings(), Is.EqualTo(new[] { "wake", "x" }));
        }
        Call("CONFIG", "SET", "maxmemory", "0");
        RespAssert.IsBulk(Call("GET", "hot"), S(Clients * Rounds * 100));
        RespAssert.IsInteger(Call("SCARD", "hotset"), Clients * Rounds * 20);
        for (int w = 0; w < Clients; w++)
            for (int i = 0; i < 10; i++) RespAssert.IsBulk(Call("GET", $"spread:{w}:{i}"), S(Rounds - 1));
    }

    [Test]
    public void PipelinedReplies_HeldToTheBatchEnd_ReachEveryClientWhileBlockedClientsResumeElsewhere()
    {
        // Pipelined replies wait for the end of the epoll thread's batch while other clients of that thread
        // have requests waiting (EngineBatch). Clients woken from BLPOP resume on the thread pool and find
        // their next request already there: such a receive must not count as one the epoll thread waits
        // for, or the held replies wait for a callback that never comes (all pipelining clients then wait
        // for them). Every read has a 5 s limit.
        const int Pipeliners = 6, Rounds = 300, Depth = 16, Sleepers = 3, Wakes = 150;
        int woken = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var sleepers = Enumerable.Range(0, Sleepers).Select(i => new Thread(() =>
        {
            try { Sleep(i); }
            catch (Exception e) { failures.Enqueue(e); }
        }) { IsBackground = true }).ToList();
        void Sleep(int i)
        {
            using var c = NewClient();
            c.ReadTimeout = TimeSpan.FromSeconds(5);
            for (int k = 0; k < Wakes; k++)
            {
                c.Send(RawClient.Encode("BLPOP", "q" + S(i), "0"));
                Thread.Sleep(1);
                c.Send(RawClient.Encode("INCR", "sleeper" + S(i)));   // arrives while blocked
                Assert.That(c.Read().AsStrings(), Is.EqualTo(new[] { "q" + S(i), S(k) }));
                RespAssert.IsInteger(c.Read(), k + 1);
                Interlocked.Increment(ref woken);
            }
        }
        sleepers.ForEach(t => t.Start());
        RunTogether(Pipeliners, w =>
        {
            using var c = NewClient();
            c.ReadTimeout = TimeSpan.FromSeconds(5);
            var batch = Enumerable.Range(0, Depth).SelectMany(_ => RawClient.Encode("INCR", "p" + S(w))).ToArray();
            int pushed = 0;
            for (int r = 0; r < Rounds; r++)
            {
                c.Send(batch);
                for (int i = 0; i < Depth; i++) RespAssert.IsInteger(c.Read(), (long)r * Depth + i + 1);
                // The first pipeliner also wakes the sleepers, one LPUSH each per few rounds.
                if (w == 0 && r % 2 == 0 && pushed < Wakes)
                {
                    for (int i = 0; i < Sleepers; i++) c.Send(RawClient.Encode("RPUSH", "q" + S(i), S(pushed)));
                    for (int i = 0; i < Sleepers; i++) c.Read();
                    pushed++;
                }
            }
            while (w == 0 && pushed < Wakes)
            {
                for (int i = 0; i < Sleepers; i++) RespAssert.IsAnyInteger(c.Call("RPUSH", "q" + S(i), S(pushed)));
                pushed++;
            }
        }, TimeSpan.FromSeconds(60));
        foreach (var t in sleepers) Assert.That(t.Join(TimeSpan.FromSeconds(30)), Is.True, "sleepers finished");
        Assert.That(failures, Is.Empty);
        Assert.That(woken, Is.EqualTo(Sleepers * Wakes));
    }

    [Test]
    public void ParallelClients_OnDistinctKeys_ReadTheirOwnWrites()
    {
        RunTogether(8, w =>
        {
            using var c = NewClient();
            for (int i = 0; i < 500; i++)
            {
                string key = $"w{w}:k{i % 50}";
                string value = $"w{w}:v{i}";
                RespAssert.IsOk(c.Call("SET", key, value));
                RespAssert.IsBulk(c.Call("GET", key), value);
            }
        }, TimeSpan.FromSeconds(60));
        RespAssert.IsInteger(Call("DBSIZE"), 8 * 50);
    }

    [Test]
    public void MSet_IsSeenWholeByConcurrentMGet()
    {
        // Keys chosen to be spread over different shards/slots.
        string[] keys = Enumerable.Range(0, 8).Select(i => "atomic:" + S(i * 7919)).ToArray();
        RespAssert.IsOk(Call(["MSET", .. keys.SelectMany(k => new[] { k, "0" })]));
        const int Writes = 3000;
        int writerDone = 0;
        var reads = new int[2];
        RunTogether(3, worker =>
        {
            using var c = NewClient();
            if (worker == 0)
            {
                for (int i = 1; i <= Writes; i++)
                {
                    RespAssert.IsOk(c.Call(["MSET", .. keys.SelectMany(k => new[] { k, S(i) })]));
                }
                Volatile.Write(ref writerDone, 1);
                return;
            }
            while (Volatile.Read(ref writerDone) == 0)
            {
                var values = c.Call(["MGET", .. keys]).AsStrings();
                Assert.That(values.Distinct().Count(), Is.EqualTo(1), "MGET saw a half-applied MSET: " + string.Join(",", values));
                reads[worker - 1]++;
            }
        }, TimeSpan.FromSeconds(60));
        TestContext.Out.WriteLine("MGET reads during the MSETs: " + string.Join(", ", reads));
        Assert.That(reads, Has.All.GreaterThan(100), "the readers hardly overlapped the writer");
        RespAssert.IsArray(Call(["MGET", .. keys]), keys.Select(_ => "3000").ToArray());
    }

    [Test]
    public void ManyConnections_AllServedAndCounted()
    {
        const int Count = 300;
        // Connections of earlier tests may still be closing on the server: count from a settled value.
        long before = SettledConnectedClients(Client);
        var clients = new List<RawClient>();
        try
        {
            for (int i = 0; i < Count; i++)
            {
                clients.Add(NewClient());
            }
            // Everyone sends before anyone reads.
            for (int i = 0; i < Count; i++)
            {
                clients[i].Send(RawClient.Encode("SET", "conn:" + S(i), S(i)));
            }
            for (int i = 0; i < Count; i++)
            {
                RespAssert.IsOk(clients[i].Read());
            }
            for (int i = 0; i < Count; i++)
            {
                RespAssert.IsBulk(clients[(i + 1) % Count].Call("GET", "conn:" + S(i)), S(i));
            }
            Assert.That(InfoConnectedClients(Client), Is.EqualTo(before + Count));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
        Assert.That(Eventually(() => InfoConnectedClients(Client) <= before, TimeSpan.FromSeconds(5)), Is.True,
            "connected_clients did not go back down after 300 clients disconnected");
    }

    private static long SettledConnectedClients(RawClient c)
    {
        long last = InfoConnectedClients(c);
        for (int i = 0; i < 50; i++)
        {
            Thread.Sleep(100);
            long now = InfoConnectedClients(c);
            if (now == last) return now;
            last = now;
        }
        return last;
    }

    private static long InfoConnectedClients(RawClient c)
    {
        var line = c.Call("INFO", "clients").Text!.Split("\r\n").Single(l => l.StartsWith("connected_clients:", StringComparison.Ordinal));
        return long.Parse(line["connected_clients:".Length..], CultureInfo.InvariantCulture);
    }

    [Test]
    public void ClientDyingMidCommand_LeavesNoTraceAndServerServes()
    {
        using (var dying = NewClient())
        {
            dying.Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nonly part of the value");
        }
        using (var dying = NewClient())
        {
            dying.Send("SET inline partial-without-newline");
        }
        Thread.Sleep(100);
        RespAssert.IsInteger(Call("EXISTS", "k", "inline"), 0);
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    [Test]
    public void SlowReader_GetsEveryPipelinedReplyIntact()
    {
        var value = new byte[1024 * 1024];
        new Random(3).NextBytes(value);
        RespAssert.IsOk(Client.Call("SET"u8.ToArray(), "big"u8.ToArray(), value));
        const int Count = 64;
        Client.Send(Enumerable.Range(0, Count).SelectMany(_ => RawClient.Encode("GET", "big")).ToArray());
        // Replies (64 MiB) pile up while this client does not read.
        Thread.Sleep(500);
        Client.ReadTimeout = TimeSpan.FromSeconds(30);
        for (int i = 0; i < Count; i++)
        {
            RespAssert.IsBulk(Client.Read(), value);
        }
        RespAssert.IsSimple(Call("PING"), "PONG");
    }
}
