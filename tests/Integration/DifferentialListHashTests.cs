// Differential test of lists and hashes: a seeded stream of random commands (valid, wrong-type, edge
// and malformed arguments, blocking commands that time out, renames and copies between the keys) is
// sent to the server under test AND to a real redis-server started here, and every reply is compared.
// Only what Redis itself leaves unspecified is compared loosely: the order of HGETALL/HKEYS/HVALS
// (a hashtable's order depends on its hash function), HSCAN's paging of a hashtable (the whole
// iteration is compared instead), and HRANDFIELD's random picks (their count and kind are compared).
// Every few commands the whole state is compared too: type, content and OBJECT ENCODING of every key.
using System.Globalization;
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;
using static NativeKv.Tests.Harness.ReplyText;

namespace NativeKv.Tests.Integration;

public sealed class DifferentialListHashTests : RedisReferenceFixture
{
    private static readonly string[] Keys = ["l1", "l2", "l3", "h1", "h2", "s1", "nokey"];

    /// <summary>(list-max-listpack-size, hash-max-listpack-entries, hash-max-listpack-value, max push size)</summary>
    [TestCase(1, "4", "8", "16", 6)]
    [TestCase(2, "-2", "128", "64", 60)]
    [TestCase(3, "1", "512", "64", 20)]
    public void RandomCommands_ReplyAsRedisDoes(int seed, string listSize, string hashEntries, string hashValue, int maxPush)
    {
        using var reference = Reference.Connect();
        foreach (var c in new[] { Client, reference })
        {
            RespAssert.IsOk(c.Call("FLUSHALL"));
            RespAssert.IsOk(c.Call("CONFIG", "SET", "list-max-listpack-size", listSize));
            RespAssert.IsOk(c.Call("CONFIG", "SET", "hash-max-listpack-entries", hashEntries));
            RespAssert.IsOk(c.Call("CONFIG", "SET", "hash-max-listpack-value", hashValue));
        }
        try
        {
            var gen = new CommandGenerator(new Random(seed), maxPush);
            const int Commands = 2500;
            for (int i = 0; i < Commands; i++)
            {
                var cmd = gen.Next();
                var mine = Client.Call(cmd);
                var theirs = reference.Call(cmd);
                string a = Normalize(cmd, mine, Client), b = Normalize(cmd, theirs, reference);
                if (a != b)
                {
                    Assert.Fail($"command #{i} of seed {seed}: {Describe(cmd)}\n  server under test: {Shorten(a)}\n  redis-server:      {Shorten(b)}");
                }
                if (i % 100 == 99) CompareState(reference, $"after command #{i} of seed {seed} ({Describe(cmd)})");
            }
            CompareState(reference, $"at the end of seed {seed}");
        }
        finally
        {
            foreach (var c in new[] { Client, reference })
            {
                c.Call("CONFIG", "SET", "list-max-listpack-size", "-2");
                c.Call("CONFIG", "SET", "hash-max-listpack-entries", "512");
                c.Call("CONFIG", "SET", "hash-max-listpack-value", "64");
            }
        }
    }

    private void CompareState(RawClient reference, string when)
    {
        foreach (var key in Keys)
        {
            foreach (var probe in new[] { new[] { "TYPE", key }, ["OBJECT", "ENCODING", key], ["LRANGE", key, "0", "-1"], ["HGETALL", key], ["HLEN", key], ["LLEN", key] })
            {
                string a = Normalize(probe, Client.Call(probe), Client), b = Normalize(probe, reference.Call(probe), reference);
                Assert.That(a, Is.EqualTo(b), $"state differs {when}: {Describe(probe)}");
            }
        }
    }

    /// <summary>A canonical text of a reply, with the loosening described at the top of the file.</summary>
    private static string Normalize(string[] cmd, RespValue reply, RawClient client)
    {
        string name = cmd[0].ToUpperInvariant();
        if (reply.Type == RespType.Array && reply.Items is not null)
        {
            switch (name)
            {
                case "HGETALL":
                {
                    var pairs = new List<string>();
                    for (int i = 0; i + 1 < reply.Items.Length; i += 2) pairs.Add(Canon(reply.Items[i]) + "=" + Canon(reply.Items[i + 1]));
                    pairs.Sort(StringComparer.Ordinal);
                    return "map{" + string.Join(",", pairs) + "}";
                }
                case "HKEYS":
                case "HVALS":
                    return "set{" + string.Join(",", reply.Items.Select(Canon).OrderBy(x => x, StringComparer.Ordinal)) + "}";
                case "HRANDFIELD":
                    return $"random[{reply.Items.Length}]";
                case "HSCAN":
                    return NormalizeScan(cmd, reply, client);
            }
        }
        if (name == "HRANDFIELD" && reply.Type == RespType.BulkString && !reply.IsNull) return "random-field";
        return Canon(reply);
    }

    private static string NormalizeScan(string[] cmd, RespValue reply, RawClient client)
    {
        if (cmd[2] != "0") return "scan-page"; // a hashtable's pages depend on its hash function
        var items = new List<RespValue>(reply.Items![1].Items!);
        string cursor = reply.Items[0].Text!;
        while (cursor != "0")
        {
            var next = client.Call([cmd[0], cmd[1], cursor, .. cmd[3..]]);
            cursor = next.Items![0].Text!;
            items.AddRange(next.Items[1].Items!);
        }
        var pairs = new SortedSet<string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < items.Count; i += 2) pairs.Add(Canon(items[i]) + "=" + Canon(items[i + 1]));
        return "scan{" + string.Join(",", pairs) + "}";
    }

    /// <summary>Random commands over a handful of keys, weighted towards the interesting cases.</summary>
    private sealed class CommandGenerator(Random rng, int maxPush)
    {
        private static readonly string[] Numbers =
            ["0", "1", "-1", "2", "-2", "3", "5", "10", "-10", "100", "9223372036854775807", "-9223372036854775808", "x", "1.5", "", "+1", " 1"];

        private string Key() => Keys[rng.Next(Keys.Length)];

        private string Num() => Numbers[rng.Next(Numbers.Length)];

        private string Where() => rng.Next(8) switch { 0 => "middle", 1 => "left", 2 or 3 or 4 => "LEFT", _ => "RIGHT" };

        private string Element()
        {
            double r = rng.NextDouble();
            if (r < 0.04) return new string("xyz"[rng.Next(3)], rng.Next(10, 3000));
            if (r < 0.1) return rng.Next(-100, 101).ToString(CultureInfo.InvariantCulture);
            if (r < 0.12) return "";
            return new string("abcdefgh"[rng.Next(8)], rng.Next(1, 4));
        }

        private IEnumerable<string> Elements(int max) => Enumerable.Range(0, rng.Next(1, max + 1)).Select(_ => Element());

        public string[] Next()
        {
            string k = Key();
            switch (rng.Next(44))
            {
                case 0: case 1: return ["LPUSH", k, .. Elements(maxPush)];
                case 2: case 3: return ["RPUSH", k, .. Elements(maxPush)];
                case 4: return [rng.Next(2) == 0 ? "LPUSHX" : "RPUSHX", k, .. Elements(3)];
                case 5: return rng.Next(2) == 0 ? [rng.Next(2) == 0 ? "LPOP" : "RPOP", k] : [rng.Next(2) == 0 ? "LPOP" : "RPOP", k, Num()];
                case 6: return ["LLEN", k];
                case 7: return ["LRANGE", k, Num(), Num()];
                case 8: return ["LINDEX", k, Num()];
                case 9: return ["LSET", k, Num(), Element()];
                case 10: return ["LINSERT", k, new[] { "BEFORE", "AFTER", "after", "x" }[rng.Next(4)], Element(), Element()];
                case 11: return ["LREM", k, Num(), Element()];
                case 12: return ["LTRIM", k, Num(), Num()];
                case 13:
                {
                    var cmd = new List<string> { "LPOS", k, Element() };
                    for (int i = rng.Next(4); i > 0; i--) cmd.AddRange([new[] { "RANK", "COUNT", "MAXLEN", "FOO" }[rng.Next(4)], Num()]);
                    return [.. cmd];
                }
                case 14: return ["LMOVE", k, Key(), Where(), Where()];
                case 15: return ["RPOPLPUSH", k, Key()];
                case 16:
                {
                    int n = rng.Next(4);
                    var cmd = new List<string> { "LMPOP", new[] { n.ToString(CultureInfo.InvariantCulture), (n + 1).ToString(CultureInfo.InvariantCulture), "x", "-1" }[rng.Next(4)] };
                    for (int i = 0; i < n; i++) cmd.Add(Key());
                    cmd.Add(Where());
                    if (rng.Next(2) == 0) cmd.AddRange(["COUNT", Num()]);
                    return [.. cmd];
                }
                case 17:
                    if (rng.Next(3) != 0) return ["LLEN", k];
                    return rng.Next(4) switch
                    {
                        0 => [rng.Next(2) == 0 ? "BLPOP" : "BRPOP", k, Key(), Timeout()],
                        1 => ["BLMOVE", k, Key(), Where(), Where(), Timeout()],
                        2 => ["BLMPOP", Timeout(), "2", k, Key(), Where()],
                        _ => ["BRPOPLPUSH", k, Key(), Timeout()],
                    };
                case 18: case 19:
                {
                    var cmd = new List<string> { "HSET", k };
                    for (int i = rng.Next(1, 5); i > 0; i--) cmd.AddRange([Element(), Element()]);
                    if (rng.Next(20) == 0) cmd.Add(Element());
                    return [.. cmd];
                }
                case 20: return ["HSETNX", k, Element(), Element()];
                case 21: return ["HGET", k, Element()];
                case 22: return ["HMGET", k, .. Elements(4)];
                case 23: return ["HMSET", k, Element(), Element()];
                case 24: return ["HGETALL", k];
                case 25: return ["HDEL", k, .. Elements(4)];
                case 26: return ["HLEN", k];
                case 27: return ["HEXISTS", k, Element()];
                case 28: return [rng.Next(2) == 0 ? "HKEYS" : "HVALS", k];
                case 29: return ["HINCRBY", k, Element(), Num()];
                case 30: return ["HINCRBYFLOAT", k, Element(), new[] { "1.5", "-2", "x", "inf", "1e3", "0x10", "3", "0.1", "-0.25" }[rng.Next(9)]];
                case 31: return ["HSTRLEN", k, Element()];
                case 32:
                {
                    var cmd = new List<string> { "HRANDFIELD", k };
                    if (rng.Next(10) < 7) cmd.Add(Num());
                    if (rng.Next(10) < 4) cmd.Add("WITHVALUES");
                    return [.. cmd];
                }
                case 33:
                {
                    var cmd = new List<string> { "HSCAN", k, new[] { "0", "0", "x", "-1" }[rng.Next(4)] };
                    if (rng.Next(10) < 3) cmd.AddRange(["MATCH", new[] { "a*", "*", "?", "[a-c]*" }[rng.Next(4)]]);
                    if (rng.Next(10) < 3) cmd.AddRange(["COUNT", Num()]);
                    return [.. cmd];
                }
                case 34: return ["TYPE", k];
                case 35: return ["OBJECT", "ENCODING", k];
                case 36: return ["EXISTS", k];
                case 37: return ["SET", "s1", Element()];
                case 38: return ["DEL", k];
                case 39: return ["RENAME", k, Key()];
                case 40: return ["COPY", k, Key()];
                case 41: return ["LRANGE", k, "0", "-1"];
                case 42: return ["HINCRBY", k, Element(), rng.Next(-5, 6).ToString(CultureInfo.InvariantCulture)];
                default: return ["LINDEX", k, rng.Next(-5, 6).ToString(CultureInfo.InvariantCulture)];
            }
        }

        private string Timeout() => rng.Next(6) switch { 0 => "x", 1 => "-1", _ => "0.001" };
    }
}
