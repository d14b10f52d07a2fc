// Differential test: thousands of seeded random set and sorted set commands (valid ones, wrong types, bad
// and edge arguments) sent to NativeKv and to a real redis-server started by the test, every reply
// compared exactly (type and bytes, i.e. byte for byte in RESP2). Order is ignored only where Redis
// leaves it unspecified: members of hashtable-encoded sets (SMEMBERS, SINTER, SUNION, SDIFF) and SCAN
// walks (compared as the set of members they return). Random commands are compared by count and
// membership; after an SPOP the key is rebuilt identically on both servers so that they stay in step.
// Lexicographic ranges run on a key whose members all have score 0 (with mixed scores Redis's answer
// depends on its skiplist's random levels).
using System.Diagnostics;
using System.Globalization;
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class DifferentialSetZSetTests : ServerFixture
{
    private Process? _redis;
    private RawClient? _ref;

    private RawClient Ref => _ref ?? throw new InvalidOperationException("redis-server not started");

    [OneTimeSetUp]
    public void StartRedis()
    {
        if (TestTarget.IsRedis)
        {
            return; // the fixture's own server is redis-server already: nothing to compare with
        }
        TestTarget.RequireTool("/usr/bin/redis-server", "redis-server");
        int port = ServerProcess.FreePort();
        var psi = new ProcessStartInfo("/usr/bin/redis-server")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            psi.ArgumentList.Add(a);
        }
        _redis = Process.Start(psi) ?? throw new AssertionException("could not start redis-server");
        _redis.BeginOutputReadLine();
        _redis.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                _ref = RawClient.Connect(port);
                if (_ref.Call("PING").Text == "PONG")
                {
                    break;
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw;
                }
                Thread.Sleep(50);
            }
        }
    }

    [OneTimeTearDown]
    public void StopRedis()
    {
        _ref?.Dispose();
        if (_redis is { HasExited: false })
        {
            _redis.Kill();
            _redis.WaitForExit(5000);
        }
        _redis?.Dispose();
    }

    [TestCase(1, 3000, false)]
    [TestCase(2, 3000, false)]
    [TestCase(3, 3000, true)]
    public void RandomCommands_ReplyExactlyAsRedis(int seed, int commands, bool smallEncodings)
    {
        TestTarget.RequireNativeKv();
        RespAssert.IsOk(Ref.Call("FLUSHALL"));
        foreach (var (name, small, normal) in new[] { ("set-max-intset-entries", "4", "512"), ("zset-max-listpack-entries", "4", "128"), ("zset-max-listpack-value", "8", "64") })
        {
            string v = smallEncodings ? small : normal;
            RespAssert.IsOk(Ref.Call("CONFIG", "SET", name, v));
            RespAssert.IsOk(Call("CONFIG", "SET", name, v));
        }
        var gen = new Generator(new Random(seed));
        var history = new Queue<string>();
        int compared = 0;
        for (int i = 0; i < commands; i++)
        {
            var cmd = gen.Next();
            history.Enqueue(string.Join(' ', cmd.Select(a => a.Length == 0 || a.Contains(' ') ? "\"" + a + "\"" : a)));
            if (history.Count > 15)
            {
                history.Dequeue();
            }
            try
            {
                compared += Compare(cmd);
            }
            catch (AssertionException e)
            {
                throw new AssertionException($"seed {seed}, command #{i}: {e.Message}\nlast commands:\n  " + string.Join("\n  ", history));
            }
        }
        // The end states agree too.
        foreach (var key in Generator.AllKeys)
        {
            CompareValue(key);
        }
        Assert.That(compared, Is.GreaterThan(commands / 2), "most replies were compared exactly");
    }

    /// <summary>Runs one command on both servers and compares; returns 1 when compared exactly.</summary>
    private int Compare(string[] cmd)
    {
        string name = cmd[0].ToUpperInvariant();
        switch (name)
        {
            case "SMEMBERS":
            case "SINTER":
            case "SUNION":
            case "SDIFF":
            {
                bool ordered = RedisOrderIsDefined(cmd);
                var (want, got) = Both(cmd);
                if (ordered)
                {
                    AssertSame(cmd, want, got);
                    return 1;
                }
                AssertSameUnordered(cmd, want, got);
                return 0;
            }
            case "SRANDMEMBER":
            case "ZRANDMEMBER":
                CompareRandom(cmd);
                return 0;
            case "SPOP":
                ComparePop(cmd);
                return 0;
            case "SSCAN":
            case "ZSCAN":
                CompareScan(cmd);
                return 0;
            default:
            {
                var (want, got) = Both(cmd);
                AssertSame(cmd, want, got);
                return 1;
            }
        }
    }

    private (RespValue Want, RespValue Got) Both(string[] cmd) => (Ref.Call(cmd), Client.Call(cmd));

    private static bool Same(RespValue a, RespValue b)
    {
        if (a.Type != b.Type || a.Integer != b.Integer)
        {
            return false;
        }
        if (a.Type == RespType.Array)
        {
            if (a.Items is null || b.Items is null)
            {
                return a.Items is null && b.Items is null;
            }
            return a.Items.Length == b.Items.Length && a.Items.Zip(b.Items).All(p => Same(p.First, p.Second));
        }
        if (a.Bytes is null || b.Bytes is null)
        {
            return a.Bytes is null && b.Bytes is null;
        }
        return a.Bytes.AsSpan().SequenceEqual(b.Bytes);
    }

    private static void AssertSame(string[] cmd, RespValue want, RespValue got)
    {
        if (!Same(want, got))
        {
            throw new AssertionException($"{string.Join(' ', cmd)}\n  redis:    {ReplyScript.Show(want)}\n  nativekv: {ReplyScript.Show(got)}");
        }
    }

    private static void AssertSameUnordered(string[] cmd, RespValue want, RespValue got)
    {
        if (want.Type != RespType.Array || got.Type != RespType.Array || want.Items is null || got.Items is null)
        {
            AssertSame(cmd, want, got);
            return;
        }
        var a = want.Items.Select(ReplyScript.Show).Order(StringComparer.Ordinal);
        var b = got.Items.Select(ReplyScript.Show).Order(StringComparer.Ordinal);
        if (!a.SequenceEqual(b))
        {
            throw new AssertionException($"{string.Join(' ', cmd)} (any order)\n  redis:    {ReplyScript.Show(want)}\n  nativekv: {ReplyScript.Show(got)}");
        }
    }

    /// <summary>
    /// Whether Redis's reply order is defined: it is for a result that is (or is walked from) an
    /// intset, which replies in ascending order. Asked of the reference server only.
    /// </summary>
    private bool RedisOrderIsDefined(string[] cmd)
    {
        string name = cmd[0].ToUpperInvariant();
        var keys = cmd.Skip(1).ToArray();
        if (name == "SMEMBERS")
        {
            return Ref.Call("OBJECT", "ENCODING", keys[0]).Text == "intset";
        }
        if (name == "SINTER")
        {
            // SINTER walks the smallest set (the first of equal sizes): its encoding decides.
            var sized = keys.Select((k, i) => (Key: k, Index: i, Card: Ref.Call("SCARD", k))).ToList();
            if (sized.Any(s => s.Card.IsError))
            {
                return true;
            }
            var smallest = sized.OrderBy(s => s.Card.Integer).ThenBy(s => s.Index).First();
            return Ref.Call("OBJECT", "ENCODING", smallest.Key).Text == "intset";
        }
        // SUNION/SDIFF reply the set they built: store it aside on the reference to see its encoding.
        var probe = Ref.Call(new[] { name + "STORE", "__probe" }.Concat(keys).ToArray());
        if (probe.IsError)
        {
            return true;
        }
        bool intset = Ref.Call("OBJECT", "ENCODING", "__probe").Text == "intset";
        Ref.Call("DEL", "__probe");
        return intset || probe.Integer == 0;
    }

    private void CompareRandom(string[] cmd)
    {
        var (want, got) = Both(cmd);
        if (want.Type != RespType.Array || want.Items is null)
        {
            if (want.Type == RespType.BulkString && want.Bytes is not null)
            {
                // One random member: both must be members.
                Assert.That(got.Type, Is.EqualTo(RespType.BulkString), string.Join(' ', cmd));
                Assert.That(IsMember(cmd[1], got.Text!), Is.True, $"{string.Join(' ', cmd)}: {got.Text} is not a member");
                return;
            }
            AssertSame(cmd, want, got);
            return;
        }
        Assert.That(got.Type, Is.EqualTo(RespType.Array), string.Join(' ', cmd));
        Assert.That(got.Items!, Has.Length.EqualTo(want.Items.Length), $"{string.Join(' ', cmd)}: reply length");
        bool withScores = cmd.Length == 4;
        bool distinct = long.Parse(cmd[2], CultureInfo.InvariantCulture) > 0;
        var members = withScores ? got.Items!.Where((_, i) => i % 2 == 0).Select(v => v.Text!).ToList() : got.Items!.Select(v => v.Text!).ToList();
        if (distinct)
        {
            Assert.That(members.Distinct().Count(), Is.EqualTo(members.Count), $"{string.Join(' ', cmd)}: distinct members");
        }
        foreach (var m in members.Distinct())
        {
            Assert.That(IsMember(cmd[1], m), Is.True, $"{string.Join(' ', cmd)}: {m} is not a member");
        }
        if (withScores)
        {
            for (int i = 0; i < got.Items!.Length; i += 2)
            {
                RespAssert.IsBulk(got.Items[i + 1], Ref.Call("ZSCORE", cmd[1], got.Items[i].Text!).Text!);
            }
        }
    }

    private bool IsMember(string key, string member)
    {
        var type = Ref.Call("TYPE", key).Text;
        return type == "set" ? Ref.Call("SISMEMBER", key, member).Integer == 1 : !Ref.Call("ZSCORE", key, member).IsNull;
    }

    private void ComparePop(string[] cmd)
    {
        string key = cmd[1];
        var before = Ref.Call("SMEMBERS", key);
        var (want, got) = Both(cmd);
        if (want.IsError || want.IsNull || got.IsError || got.IsNull || want.Type != got.Type)
        {
            AssertSame(cmd, want, got);
            return;
        }
        var all = before.IsError ? [] : before.AsStrings().ToHashSet();
        var popped = got.Type == RespType.Array ? got.AsStrings() : [got.Text];
        var reference = want.Type == RespType.Array ? want.AsStrings() : [want.Text];
        Assert.That(popped, Has.Length.EqualTo(reference.Length), $"{string.Join(' ', cmd)}: popped count");
        Assert.That(popped.Distinct().Count(), Is.EqualTo(popped.Length), $"{string.Join(' ', cmd)}: popped twice");
        Assert.That(popped.All(m => all.Contains(m!)), Is.True, $"{string.Join(' ', cmd)}: popped a non-member");
        // Rebuild the key identically on both servers from what NativeKv has left.
        var left = Client.Call("SMEMBERS", key).AsStrings().Select(m => m!).Order(StringComparer.Ordinal).ToArray();
        foreach (var c in new[] { Ref, Client })
        {
            c.Call("DEL", key);
            if (left.Length > 0)
            {
                RespAssert.IsInteger(c.Call(new[] { "SADD", key }.Concat(left).ToArray()), left.Length);
            }
        }
    }

    private void CompareScan(string[] cmd)
    {
        var first = Both(cmd);
        if (first.Want.IsError || first.Got.IsError)
        {
            AssertSame(cmd, first.Want, first.Got);
            return;
        }
        Assert.That(ScanAll(Ref, cmd), Is.EquivalentTo(ScanAll(Client, cmd)), $"{string.Join(' ', cmd)}: members walked");
    }

    private static HashSet<string> ScanAll(RawClient c, string[] cmd)
    {
        var seen = new HashSet<string>();
        string cursor = "0";
        var args = (string[])cmd.Clone();
        do
        {
            args[2] = cursor;
            var r = c.Call(args);
            cursor = r.Items![0].Text!;
            var items = r.Items[1].AsStrings();
            bool zset = cmd[0].Equals("ZSCAN", StringComparison.OrdinalIgnoreCase);
            for (int i = 0; i < items.Length; i += zset ? 2 : 1)
            {
                seen.Add(zset ? items[i] + "=" + items[i + 1] : items[i]!);
            }
        } while (cursor != "0");
        return seen;
    }

    private void CompareValue(string key)
    {
        var type = Ref.Call("TYPE", key);
        AssertSame(["TYPE", key], type, Client.Call("TYPE", key));
        if (type.Text == "zset")
        {
            var cmd = new[] { "ZRANGE", key, "0", "-1", "WITHSCORES" };
            AssertSame(cmd, Ref.Call(cmd), Client.Call(cmd));
        }
        else if (type.Text == "set")
        {
            AssertSameUnordered(["SMEMBERS", key], Ref.Call("SMEMBERS", key), Client.Call("SMEMBERS", key));
        }
    }

    /// <summary>The seeded command generator: a small key space so that commands meet each other's
    /// keys (and wrong types), members and scores that hit the encodings' edges.</summary>
    private sealed class Generator(Random rng)
    {
        private static readonly string[] ZKeys = ["z1", "z2", "z3", "z4"];
        private static readonly string[] SKeys = ["s1", "s2", "s3"];
        public static readonly string[] AllKeys = ["z1", "z2", "z3", "z4", "s1", "s2", "s3", "str", "lx", "none"];

        private T Pick<T>(params T[] items) => items[rng.Next(items.Length)];

        private string Key()
        {
            int r = rng.Next(100);
            return r < 55 ? Pick(ZKeys) : r < 90 ? Pick(SKeys) : Pick("str", "none");
        }

        private string Member()
        {
            int r = rng.Next(100);
            if (r < 40)
            {
                return rng.Next(-20, 60).ToString(CultureInfo.InvariantCulture);
            }
            if (r < 85)
            {
                return (char)('a' + rng.Next(10)) + rng.Next(30).ToString(CultureInfo.InvariantCulture);
            }
            return Pick("", new string('l', 70), "0", "-0", "01", "+1", " x", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "é");
        }

        private string Score()
        {
            int r = rng.Next(100);
            if (r < 55)
            {
                return rng.Next(-10, 11).ToString(CultureInfo.InvariantCulture);
            }
            if (r < 80)
            {
                return Math.Round(rng.NextDouble() * 200 - 100, 3).ToString(CultureInfo.InvariantCulture);
            }
            return Pick("inf", "-inf", "+inf", "0.1", "1e3", "-0", "abc", "nan", "0x1p3", "1e400", "", " 1", "3.0000000000000001");
        }

        private string Bound()
        {
            if (rng.Next(100) < 75)
            {
                return Pick("", "(") + rng.Next(-12, 13).ToString(CultureInfo.InvariantCulture);
            }
            return Pick("-inf", "+inf", "(-inf", "(+inf", "abc", "(5.5", "", "(", "1e400", "nan", "(nan", " 2");
        }

        private string Lex() => Pick("-", "+", "[a", "(b", "[c5", "(d", "[", "(", "x", "[z", "+x", "[a1", "(a1");

        private string Index() => Pick(rng.Next(-12, 13).ToString(CultureInfo.InvariantCulture), "0", "-1", "abc", "9223372036854775807", "-9223372036854775808");

        private string Count() => Pick("0", "1", "2", "3", "5", "-1", "-3", "abc", "100");

        private string[] Pairs(int max)
        {
            var list = new List<string>();
            for (int i = rng.Next(1, max + 1); i > 0; i--)
            {
                list.Add(Score());
                list.Add(Member());
            }
            return list.ToArray();
        }

        private string[] Members(int max) => Enumerable.Range(0, rng.Next(1, max + 1)).Select(_ => Member()).ToArray();

        private string[] Keys(int n) => Enumerable.Range(0, n).Select(_ => Key()).ToArray();

        public string[] Next()
        {
            int t = rng.Next(64);
            string k = Key();
            return t switch
            {
                < 6 => ["ZADD", k, .. rng.GetItems(new[] { "NX", "XX", "GT", "LT", "CH", "INCR" }, rng.Next(0, 3)).Distinct(), .. Pairs(4)],
                < 10 => ["SADD", k, .. Members(5)],
                10 => ["ZINCRBY", k, Score(), Member()],
                11 => ["ZREM", k, .. Members(3)],
                12 => ["SREM", k, .. Members(3)],
                13 => ["ZRANGE", k, Index(), Index(), .. Pick<string[]>([], ["WITHSCORES"], ["REV"], ["REV", "WITHSCORES"], ["LIMIT", "0", "1"])],
                14 => ["ZRANGE", k, Bound(), Bound(), "BYSCORE", .. Pick<string[]>([], ["WITHSCORES"], ["REV"], ["LIMIT", Index(), Index()], ["REV", "WITHSCORES", "LIMIT", Index(), Index()])],
                15 => ["ZRANGEBYSCORE", k, Bound(), Bound(), .. Pick<string[]>([], ["WITHSCORES"], ["LIMIT", Index(), Index()], ["WITHSCORES", "LIMIT", Index(), Index()])],
                16 => ["ZREVRANGEBYSCORE", k, Bound(), Bound(), .. Pick<string[]>([], ["WITHSCORES"], ["LIMIT", Index(), Index()])],
                17 => ["ZCOUNT", k, Bound(), Bound()],
                18 => [Pick("ZRANK", "ZREVRANK"), k, Member()],
                19 => ["ZSCORE", k, Member()],
                20 => ["ZMSCORE", k, .. Members(3)],
                21 => [Pick("ZCARD", "SCARD", "TYPE", "EXISTS"), k],
                22 => ["ZREMRANGEBYRANK", k, Index(), Index()],
                23 => ["ZREMRANGEBYSCORE", k, Bound(), Bound()],
                24 => [Pick("ZPOPMIN", "ZPOPMAX"), k, .. Pick<string[]>([], [Count()])],
                25 => [Pick("ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"), Key(), "2", Key(), Key(), .. Pick<string[]>([], ["WEIGHTS", Score(), Score()], ["AGGREGATE", Pick("MIN", "MAX", "SUM", "x")])],
                26 => [Pick("ZUNION", "ZINTER", "ZDIFF"), "2", Key(), Key(), .. Pick<string[]>([], ["WITHSCORES"], ["WEIGHTS", "2", "-1", "WITHSCORES"], ["AGGREGATE", "MAX", "WITHSCORES"], ["WEIGHTS", Score(), Score()])],
                27 => ["ZINTERCARD", Pick("1", "2", "3", "0"), Key(), Key(), .. Pick<string[]>([], ["LIMIT", Count()])],
                28 => ["ZMPOP", Pick("1", "2", "0"), Key(), Key(), Pick("MIN", "MAX", "x"), .. Pick<string[]>([], ["COUNT", Count()])],
                29 => ["SISMEMBER", k, Member()],
                30 => ["SMISMEMBER", k, .. Members(3)],
                31 => ["SMOVE", Key(), Key(), Member()],
                32 => [Pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), Key(), .. Keys(rng.Next(1, 4))],
                33 => ["SINTERCARD", Pick("1", "2", "3", "0", "x"), Key(), Key(), .. Pick<string[]>([], ["LIMIT", Count()])],
                34 => ["ZRANGESTORE", Key(), k, Index(), Index(), .. Pick<string[]>([], ["REV"], ["BYSCORE"], ["BYSCORE", "LIMIT", "1", "2"])],
                35 => ["SMEMBERS", k],
                36 => ["SINTER", .. Keys(rng.Next(1, 4))],
                37 => ["SUNION", .. Keys(rng.Next(1, 4))],
                38 => ["SDIFF", .. Keys(rng.Next(1, 4))],
                39 => ["SPOP", k, .. Pick<string[]>([], [Count()])],
                40 => ["SRANDMEMBER", k, .. Pick<string[]>([], [Count()])],
                41 => ["ZRANDMEMBER", k, .. Pick<string[]>([], [Count()], [Count(), "WITHSCORES"])],
                42 => ["SSCAN", k, "0", .. Pick<string[]>([], ["COUNT", "3"], ["MATCH", "*1*"])],
                43 => ["ZSCAN", k, "0", .. Pick<string[]>([], ["COUNT", "3"], ["MATCH", "a*"])],
                44 => ["ZADD", "lx", "0", Member()],
                45 => ["ZRANGEBYLEX", "lx", Lex(), Lex(), .. Pick<string[]>([], ["LIMIT", Index(), Index()])],
                46 => ["ZREVRANGEBYLEX", "lx", Lex(), Lex(), .. Pick<string[]>([], ["LIMIT", Index(), Index()])],
                47 => ["ZLEXCOUNT", "lx", Lex(), Lex()],
                48 => ["ZREMRANGEBYLEX", "lx", Lex(), Lex()],
                49 => ["ZRANGE", "lx", Lex(), Lex(), "BYLEX", .. Pick<string[]>([], ["REV"], ["LIMIT", "1", "2"])],
                50 => [Pick("BZPOPMIN", "BZPOPMAX"), Key(), Key(), Pick("0.01", "-1", "x")],
                51 => ["BZMPOP", Pick("0.01", "-1"), "2", Key(), Key(), Pick("MIN", "MAX"), .. Pick<string[]>([], ["COUNT", "2"])],
                52 => ["SET", "str", "value"],
                53 => ["DEL", Key()],
                54 => ["ZADD", k, .. Pick<string[]>(["NX", "XX"], ["GT", "LT"], ["INCR"], ["INCR", "XX"], ["GT", "NX"]), .. Pairs(2)],
                55 => ["ZINCRBY", k, Pick("inf", "-inf", "1", "-0"), Member()],
                56 => ["ZRANGE", k, Index(), Index(), Pick("WITHSCORES", "REV", "LIMIT", "BYLEX", "foo")],
                57 => ["ZREVRANGE", k, Index(), Index(), .. Pick<string[]>([], ["WITHSCORES"], ["foo"])],
                58 => ["ZLEXCOUNT", k, "-", "+"],
                _ => ["ZADD", Pick(ZKeys), .. Pairs(6)],
            };
        }
    }
}
