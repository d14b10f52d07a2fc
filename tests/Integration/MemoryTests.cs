// Memory limits through the real binary: used_memory stays at maxmemory while 10x that is written,
// RSS stays close, recently read keys survive LRU eviction, noeviction answers -OOM but keeps serving
// reads, volatile policies never touch keys without a TTL, FLUSHALL gives memory back, SCAN keeps its
// guarantee while the table is rewritten under it; a small key costs at most 64 bytes (issue 4), and
// keys past 64 KiB and 1 MB values (the entry layout's escapes) work through every path.
using System.Globalization;
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[TestFixture]
[Category(TestTarget.NativeKvOnly)]
public class MemoryTests
{
    const long Mb = 1024 * 1024;

    static ServerProcess Start(params string[] args)
    {
        if (TestTarget.IsRedis) Assert.Ignore("NativeKv's memory accounting and RSS bounds are its own");
        return ServerProcess.Start(new ServerOptions { ExtraArgs = args });
    }

    static Dictionary<string, string> Info(RawClient c, string section)
    {
        var text = c.Call("INFO", section).Text!;
        var d = new Dictionary<string, string>();
        foreach (var line in text.Split("\r\n"))
        {
            int i = line.IndexOf(':');
            if (i > 0) d[line[..i]] = line[(i + 1)..];
        }
        return d;
    }

    static long InfoLong(RawClient c, string section, string field) =>
        long.Parse(Info(c, section)[field], CultureInfo.InvariantCulture);

    /// <summary>Sends the commands in one write and reads all replies; returns the error replies.</summary>
    static List<RespValue> Pipeline(RawClient c, IEnumerable<string[]> commands)
    {
        var buf = new MemoryStream();
        int n = 0;
        foreach (var cmd in commands)
        {
            buf.Write(RawClient.Encode(cmd));
            n++;
        }
        c.Send(buf.ToArray());
        var errors = new List<RespValue>();
        for (int i = 0; i < n; i++)
        {
            var r = c.Read();
            if (r.IsError) errors.Add(r);
        }
        return errors;
    }

    static string Value(int size, int seed) => new string((char)('a' + seed % 26), size);

    [Test]
    public void AllKeysLruHoldsTheLimitWhileTenTimesItIsWritten()
    {
        const long limit = 100 * Mb;
        const int valueSize = 4096;
        using var server = Start("--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru");
        using var c = server.Connect();
        long baselineRss = InfoLong(c, "memory", "used_memory_rss");
        long total = 0;
        int key = 0;
        long maxUsed = 0, maxRss = 0;
        var value = Value(valueSize, 1);
        while (total < 10 * limit)
        {
            var errors = Pipeline(c, Enumerable.Range(0, 500).Select(_ => new[] { "SET", "key:" + key++, value }));
            Assert.That(errors, Is.Empty, "allkeys-lru never refuses a SET");
            total += 500L * valueSize;
            long used = InfoLong(c, "memory", "used_memory");
            maxUsed = Math.Max(maxUsed, used);
            maxRss = Math.Max(maxRss, InfoLong(c, "memory", "used_memory_rss"));
        }
        Assert.That(maxUsed, Is.LessThanOrEqualTo(limit + valueSize + 4096), "used_memory exceeds the limit by at most one value");
        Assert.That(maxUsed, Is.GreaterThan(limit * 9 / 10), "the limit is used, not undershot");
        Assert.That(maxRss, Is.LessThan(1.15 * limit + baselineRss), $"RSS {maxRss / Mb} MB vs limit 100 MB + baseline {baselineRss / Mb} MB");
        Assert.That(InfoLong(c, "stats", "evicted_keys"), Is.GreaterThan(0));
        long dbsize = c.Call("DBSIZE").Integer;
        Assert.That(dbsize, Is.LessThan(key).And.GreaterThan(limit / (valueSize * 2)));
    }

    [Test]
    public void RecentlyReadKeysSurviveEvictionFarMoreThanColdOnes()
    {
        using var server = Start("--maxmemory", "20mb", "--maxmemory-policy", "allkeys-lru");
        using var c = server.Connect();
        var value = Value(1024, 2);
        var hot = Enumerable.Range(0, 1000).Select(i => "hot:" + i).ToArray();
        Assert.That(Pipeline(c, hot.Select(k => new[] { "SET", k, value })), Is.Empty);
        int cold = 0;
        for (int round = 0; round < 100; round++)
        {
            Assert.That(Pipeline(c, Enumerable.Range(0, 1000).Select(_ => new[] { "SET", "cold:" + cold++, value })), Is.Empty);
            Pipeline(c, hot.Select(k => new[] { "GET", k }));
        }
        int hotAlive = hot.Count(k => c.Call("EXISTS", k).Integer == 1);
        int coldAlive = Enumerable.Range(0, cold).Count(i => i % 10 == 0 && c.Call("EXISTS", "cold:" + i).Integer == 1) * 10;
        double hotRate = hotAlive / (double)hot.Length, coldRate = coldAlive / (double)cold;
        Assert.That(hotRate, Is.GreaterThan(0.9), $"hot survival {hotRate:P0}");
        Assert.That(hotRate, Is.GreaterThan(coldRate * 3), $"hot {hotRate:P0} vs cold {coldRate:P0}");
    }

    [Test]
    public void NoEvictionRefusesWritesButServesReadsAndDeletes()
    {
        using var server = Start("--maxmemory", "10mb", "--maxmemory-policy", "noeviction");
        using var c = server.Connect();
        var value = Value(10_000, 3);
        RespValue? oom = null;
        int written = 0;
        for (int i = 0; i < 5000 && oom == null; i++)
        {
            var r = c.Call("SET", "k" + i, value);
            if (r.IsError) oom = r;
            else written++;
        }
        Assert.That(oom, Is.Not.Null, "a write past the limit is refused");
        RespAssert.IsError(oom!, "OOM command not allowed when used memory > 'maxmemory'.");
        RespAssert.IsBulk(c.Call("GET", "k0"), value);
        RespAssert.IsInteger(c.Call("EXISTS", "k1"), 1);
        RespAssert.IsInteger(c.Call("DEL", "k0", "k1", "k2"), 3);
        RespAssert.IsOk(c.Call("SET", "after-delete", "fits again"));
        Assert.That(c.Call("DBSIZE").Integer, Is.EqualTo(written - 3 + 1));
        Assert.That(InfoLong(c, "stats", "evicted_keys"), Is.EqualTo(0));
    }

    [TestCase("volatile-lru")]
    [TestCase("volatile-lfu")]
    [TestCase("volatile-random")]
    [TestCase("volatile-ttl")]
    public void VolatilePoliciesNeverEvictKeysWithoutTtl(string policy)
    {
        using var server = Start("--maxmemory", "10mb", "--maxmemory-policy", policy);
        using var c = server.Connect();
        var value = Value(1000, 4);
        Assert.That(Pipeline(c, Enumerable.Range(0, 2000).Select(i => new[] { "SET", "persistent:" + i, value })), Is.Empty);
        var errors = new List<RespValue>();
        for (int b = 0; b < 40; b++)
            errors.AddRange(Pipeline(c, Enumerable.Range(0, 500).Select(i => new[] { "SET", $"volatile:{b}:{i}", value, "EX", "1000" })));
        for (int i = 0; i < 2000; i++)
            Assert.That(c.Call("EXISTS", "persistent:" + i).Integer, Is.EqualTo(1), $"persistent:{i} under {policy}");
        Assert.That(InfoLong(c, "stats", "evicted_keys"), Is.GreaterThan(0));
        // Once only keys without TTL are left, a volatile policy cannot free memory: -OOM.
        Assert.That(errors.Count == 0 || errors.All(e => e.Text!.StartsWith("OOM", StringComparison.Ordinal)));
        var more = Pipeline(c, Enumerable.Range(0, 20_000).Select(i => new[] { "SET", "persistent-more:" + i, value }));
        Assert.That(more, Is.Not.Empty);
        RespAssert.IsError(more[0], "OOM command not allowed when used memory > 'maxmemory'.");
    }

    [Test]
    public void FlushAllGivesMemoryBack()
    {
        using var server = Start();
        using var c = server.Connect();
        long baseline = InfoLong(c, "memory", "used_memory_rss");
        var value = Value(1000, 5);
        for (int b = 0; b < 200; b++)
            Assert.That(Pipeline(c, Enumerable.Range(0, 1000).Select(i => new[] { "SET", $"k:{b}:{i}", value })), Is.Empty);
        long full = InfoLong(c, "memory", "used_memory_rss");
        Assert.That(full, Is.GreaterThan(baseline + 150 * Mb));
        RespAssert.IsOk(c.Call("FLUSHALL"));
        Assert.That(InfoLong(c, "memory", "used_memory"), Is.LessThan(1 * Mb));
        long after = InfoLong(c, "memory", "used_memory_rss");
        Assert.That(after, Is.LessThan(baseline + 10 * Mb), $"RSS {after / Mb} MB after FLUSHALL, baseline {baseline / Mb} MB");
    }

    [Test]
    public void ConfigSetMaxmemoryTakesEffectAtOnce()
    {
        using var server = Start();
        using var c = server.Connect();
        var value = Value(10_000, 6);
        Assert.That(Pipeline(c, Enumerable.Range(0, 1000).Select(i => new[] { "SET", "k" + i, value })), Is.Empty);
        RespAssert.IsOk(c.Call("CONFIG", "SET", "maxmemory", "2mb", "maxmemory-policy", "allkeys-random"));
        RespAssert.IsOk(c.Call("SET", "trigger", "x"));
        Assert.That(InfoLong(c, "memory", "used_memory"), Is.LessThanOrEqualTo(2 * Mb + 20_000));
        Assert.That(c.Call("DBSIZE").Integer, Is.LessThan(300));
        RespAssert.IsArray(c.Call("CONFIG", "GET", "maxmemory-policy"), "maxmemory-policy", "allkeys-random");
        var mem = Info(c, "memory");
        foreach (var field in new[] { "used_memory", "used_memory_human", "used_memory_rss", "used_memory_peak", "mem_fragmentation_ratio", "maxmemory", "maxmemory_policy" })
            Assert.That(mem.ContainsKey(field), field);
    }

    [Test]
    public void MemoryUsageAndStats()
    {
        using var server = Start();
        using var c = server.Connect();
        RespAssert.IsOk(c.Call("SET", "small", "v"));
        RespAssert.IsOk(c.Call("SET", "big", Value(10_000, 7)));
        long small = RespAssert.IsAnyInteger(c.Call("MEMORY", "USAGE", "small"));
        long big = RespAssert.IsAnyInteger(c.Call("MEMORY", "USAGE", "big", "SAMPLES", "5"));
        Assert.That(small, Is.InRange(40, 100)); // a 29-byte header, key and value in a 40-byte slot, a bucket slot
        Assert.That(big, Is.InRange(10_000, 10_000 * 1.125 + 100), "the size class of the entry: at most 12.5% over");
        RespAssert.IsNil(c.Call("MEMORY", "USAGE", "missing"));
        RespAssert.IsError(c.Call("MEMORY", "USAGE", "small", "FOO"), "ERR syntax error");
        RespAssert.IsError(c.Call("MEMORY", "NOPE"), "ERR unknown subcommand 'NOPE'. Try MEMORY HELP.");
        var stats = c.Call("MEMORY", "STATS").AsStrings();
        Assert.That(stats, Does.Contain("keys.count"));
        Assert.That(stats, Does.Contain("dataset.bytes"));
        RespAssert.IsOk(c.Call("MEMORY", "PURGE"));
    }

    [Test]
    public void SmallKeysCostAtMost64BytesEach()
    {
        // perf/memory.sh's keys (`key:0000000`, 16-byte values), fewer of them: the old 48-byte header
        // with pointer links cost 88 bytes a key (an 80-byte slot and an 8-byte bucket). The bucket share
        // depends on how full the power-of-two tables are: 250,000 keys are about 3,900 per shard in tables
        // of 4,096, as full as memory.sh's million (15,600 in 16,384), so the figure is comparable.
        const int keys = 250_000;
        using var server = Start();
        using var c = server.Connect();
        long used0 = InfoLong(c, "memory", "used_memory"), rss0 = InfoLong(c, "memory", "used_memory_rss");
        var value = Value(16, 3);
        for (int b = 0; b < keys / 10_000; b++)
            Assert.That(Pipeline(c, Enumerable.Range(b * 10_000, 10_000).Select(i => new[] { "SET", $"key:{i:D7}", value })), Is.Empty);
        Assert.That(c.Call("DBSIZE").Integer, Is.EqualTo(keys));
        long used = InfoLong(c, "memory", "used_memory") - used0, rss = InfoLong(c, "memory", "used_memory_rss") - rss0;
        Assert.That((double)used / keys, Is.LessThanOrEqualTo(64), $"used_memory {used} for {keys} keys");
        // RSS also holds the partly filled last page of each of the 64 shards, the warm page pool and the
        // last 2 MiB chunk, which is resident whole once touched (a transparent huge page, PagePool).
        Assert.That((double)(rss - 2 * Mb) / keys, Is.LessThanOrEqualTo(72), $"RSS {rss} for {keys} keys");
        Assert.That(RespAssert.IsAnyInteger(c.Call("MEMORY", "USAGE", "key:0000042")), Is.EqualTo(56 + 4));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void ArenaHugePages_BackTheKeyspaceWhenOnAndNotWhenOff(bool on)
    {
        // With transparent huge pages in madvise mode (Debian's default), only memory advised
        // MADV_HUGEPAGE gets them: with arena-huge-pages no, nothing in the process does.
        const string ThpMode = "/sys/kernel/mm/transparent_hugepage/enabled";
        using var server = Start("--arena-huge-pages", on ? "yes" : "no");
        using var c = server.Connect();
        Assert.That(c.Call("CONFIG", "GET", "arena-huge-pages").Items![1].Text, Is.EqualTo(on ? "yes" : "no"));
        RespAssert.IsError(c.Call("CONFIG", "SET", "arena-huge-pages", "maybe"),
            "ERR CONFIG SET failed (possibly related to argument 'arena-huge-pages') - argument must be 'yes' or 'no'");
        if (!File.Exists(ThpMode) || !File.ReadAllText(ThpMode).Contains("[madvise]"))
            Assert.Ignore("transparent huge pages are not in madvise mode on this machine");
        var value = Value(1000, 7);
        for (int b = 0; b < 4; b++)
            Assert.That(Pipeline(c, Enumerable.Range(b * 10_000, 10_000).Select(i => new[] { "SET", $"key:{i:D7}", value })), Is.Empty);
        long hugeKb = 0;
        foreach (var line in File.ReadAllLines($"/proc/{server.Pid}/smaps_rollup"))
            if (line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                hugeKb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        if (on) Assert.That(hugeKb, Is.GreaterThanOrEqualTo(2048), "40 MB of values on huge pages");
        else Assert.That(hugeKb, Is.EqualTo(0));
        for (int i = 0; i < 1000; i += 97) RespAssert.IsBulk(c.Call("GET", $"key:{i:D7}"), value);
    }

    [TestCase(65_534)]
    [TestCase(65_535)]
    [TestCase(100_000)]
    public void KeysPast64KiBWorkThroughEveryPath(int length)
    {
        using var dir = new DataDir();
        string key = "k" + new string('x', length - 2) + "1";
        string twin = key[..^1] + "2";
        using (var server = dir.Start())
        {
            using var c = server.Connect();
            RespAssert.IsOk(c.Call("SET", key, "one"));
            RespAssert.IsOk(c.Call("SET", twin, "two"));
            Assert.That(Pipeline(c, Enumerable.Range(0, 2_000).Select(i => new[] { "SET", "other" + i, "v" })), Is.Empty);
            RespAssert.IsBulk(c.Call("GET", key), "one");
            Assert.That(c.Call("STRLEN", twin).Integer, Is.EqualTo(3));
            Assert.That(c.Call("EXPIRE", key, "1000").Integer, Is.EqualTo(1));
            Assert.That(c.Call("APPEND", key, new string('y', 20_000)).Integer, Is.EqualTo(20_003)); // moves to a large block
            RespAssert.IsOk(c.Call("RENAME", key, "short"));
            Assert.That(c.Call("TTL", "short").Integer, Is.InRange(990, 1000));
            RespAssert.IsOk(c.Call("RENAME", "short", key));
            Assert.That(c.Call("KEYS", "k*").AsStrings(), Is.EquivalentTo(new[] { key, twin }));
            RespAssert.IsOk(c.Call("SAVE"));
        }
        using (var server = dir.Start())
        {
            using var c = server.Connect();
            Assert.That(c.Call("STRLEN", key).Integer, Is.EqualTo(20_003));
            Assert.That(c.Call("TTL", key).Integer, Is.InRange(900, 1000));
            RespAssert.IsBulk(c.Call("GET", twin), "two");
            Assert.That(c.Call("DEL", key, twin).Integer, Is.EqualTo(2));
            Assert.That(c.Call("DBSIZE").Integer, Is.EqualTo(2_000));
        }
    }

    [Test]
    public void OneMegabyteValuesRoundTrip()
    {
        using var server = Start();
        using var c = server.Connect();
        var big = new string('a', 1024 * 1024 - 1) + "z";
        RespAssert.IsOk(c.Call("SET", "big", big));
        RespAssert.IsBulk(c.Call("GET", "big"), big);
        Assert.That(RespAssert.IsAnyInteger(c.Call("MEMORY", "USAGE", "big")), Is.InRange(1024 * 1024, 1024 * 1024 + 100));
        Assert.That(c.Call("APPEND", "big", "!").Integer, Is.EqualTo(1024 * 1024 + 1));
        RespAssert.IsBulk(c.Call("GETRANGE", "big", "-3", "-1"), "az!");
        RespAssert.IsOk(c.Call("SET", "big", "small now"));
        RespAssert.IsBulk(c.Call("GET", "big"), "small now");
        Assert.That(RespAssert.IsAnyInteger(c.Call("MEMORY", "USAGE", "big")), Is.LessThan(100));
    }

    /// <summary>
    /// GET and MGET hand values of 64 KiB and more to the socket from where they lie, together with the
    /// replies buffered before them (RespWriter.WriteValue). Every path of that must keep the stream exact:
    /// the socket takes all, part (a client that is not reading yet) or nothing; the value sits between
    /// small replies; CLIENT REPLY OFF drops it; EXEC's reply holds it.
    /// </summary>
    [Test]
    public void LargeValuesSentFromWhereTheyLieKeepEveryReplyExactAndInOrder()
    {
        using var server = Start();
        using var c = server.Connect();
        c.ReadTimeout = TimeSpan.FromSeconds(30);
        int[] sizes = [64 * 1024 - 1, 64 * 1024, 200_000, 1024 * 1024, 3 * 1024 * 1024];
        var values = new byte[sizes.Length][];
        for (int k = 0; k < sizes.Length; k++)
        {
            values[k] = new byte[sizes[k]];
            new Random(k).NextBytes(values[k]);
            RespAssert.IsOk(c.Call(Encoding.ASCII.GetBytes("SET"), Encoding.ASCII.GetBytes($"big:{k}"), values[k]));
        }
        RespAssert.IsOk(c.Call("SET", "small", "s"));
        long outBefore = InfoLong(c, "stats", "total_net_output_bytes");

        // 100 rounds in one write (175 MB of replies), read only after a pause: the socket buffer fills, so
        // later values find it full or take part of it.
        const int Rounds = 100;
        var pipe = new MemoryStream();
        for (int i = 0; i < Rounds; i++)
        {
            pipe.Write(RawClient.Encode("PING"));
            pipe.Write(RawClient.Encode("GET", $"big:{i % sizes.Length}"));
            pipe.Write(RawClient.Encode("GET", "small"));
            pipe.Write(RawClient.Encode("MGET", $"big:{(i + 2) % sizes.Length}", "small", "missing"));
            pipe.Write(RawClient.Encode("ECHO", i.ToString(CultureInfo.InvariantCulture)));
        }
        c.Send(pipe.ToArray());
        Thread.Sleep(500);
        long expectedBytes = 0;
        for (int i = 0; i < Rounds; i++)
        {
            Assert.That(c.Read().Text, Is.EqualTo("PONG"), $"round {i}");
            var v = c.Read();
            Assert.That(Same(v, values[i % sizes.Length]), Is.True, $"round {i}: GET big:{i % sizes.Length}");
            RespAssert.IsBulk(c.Read(), "s");
            var m = c.Read();
            Assert.That(m.Items, Has.Length.EqualTo(3), $"round {i}: MGET");
            Assert.That(Same(m.Items![0], values[(i + 2) % sizes.Length]), Is.True, $"round {i}: MGET big");
            RespAssert.IsBulk(m.Items[1], "s");
            Assert.That(m.Items[2].IsNull, Is.True);
            RespAssert.IsBulk(c.Read(), i.ToString(CultureInfo.InvariantCulture));
            expectedBytes += sizes[i % sizes.Length] + sizes[(i + 2) % sizes.Length];
        }
        Assert.That(InfoLong(c, "stats", "total_net_output_bytes") - outBefore, Is.GreaterThan(expectedBytes), "bytes sent in place are counted");

        // CLIENT REPLY OFF drops the value; EXEC's array holds it in place.
        c.Send(RawClient.Encode("CLIENT", "REPLY", "OFF"));
        c.Send(RawClient.Encode("GET", "big:3"));
        c.Send(RawClient.Encode("CLIENT", "REPLY", "ON"));
        RespAssert.IsOk(c.Read());
        RespAssert.IsOk(c.Call("MULTI"));
        Assert.That(c.Call("GET", "big:4").Text, Is.EqualTo("QUEUED"));
        Assert.That(c.Call("SET", "after", "1").Text, Is.EqualTo("QUEUED"));
        var exec = c.Call("EXEC");
        Assert.That(exec.Items, Has.Length.EqualTo(2));
        Assert.That(Same(exec.Items![0], values[4]), Is.True, "EXEC's GET");
        RespAssert.IsOk(exec.Items[1]);
        Assert.That(c.Call("PING").Text, Is.EqualTo("PONG"));

        static bool Same(RespValue r, byte[] expected) => r.Bytes != null && r.Bytes.AsSpan().SequenceEqual(expected);
    }

    [Test]
    public void ScanReturnsEveryKeyPresentThroughoutWhileOthersWriteAndRehash()
    {
        using var server = Start();
        using var c = server.Connect();
        var stable = Enumerable.Range(0, 20_000).Select(i => "stable:" + i).ToHashSet();
        Assert.That(Pipeline(c, stable.Select(k => new[] { "SET", k, "1" })), Is.Empty);
        using var writer = server.Connect();
        using var stop = new CancellationTokenSource();
        var churn = Task.Run(() =>
        {
            int i = 0;
            while (!stop.IsCancellationRequested)
            {
                Pipeline(writer, Enumerable.Range(0, 2000).Select(j => new[] { "SET", $"churn:{i}:{j}", "x" }));
                Pipeline(writer, Enumerable.Range(0, 2000).Select(j => new[] { "DEL", $"churn:{i}:{j}" }));
                i++;
            }
        });
        var seen = new HashSet<string>();
        string cursor = "0";
        do
        {
            var r = c.Call("SCAN", cursor, "COUNT", "50");
            cursor = r.Items![0].Text!;
            foreach (var k in r.Items[1].AsStrings()) seen.Add(k!);
        } while (cursor != "0");
        stop.Cancel();
        churn.Wait();
        var missing = stable.Where(k => !seen.Contains(k)).Take(5).ToList();
        Assert.That(missing, Is.Empty, "keys present for the whole scan must be returned");
    }
}
