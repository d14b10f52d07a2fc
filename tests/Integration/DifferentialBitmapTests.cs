// Differential test of the bitmap commands (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO):
// a seeded stream of random commands — valid ones, edge ranges (negative, reversed, past the end, BIT and
// BYTE units), bad offsets, bad field types, every overflow policy, wrong types — mixed with string
// writes (SET, APPEND, SETRANGE, DEL) is sent to the server under test and to a real redis-server
// started here, and every reply is compared byte for byte; every few commands the values of all keys
// are compared too. Nothing is compared loosely: bitmaps have no unspecified order.
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;
using static NativeKv.Tests.Harness.ReplyText;

namespace NativeKv.Tests.Integration;

public sealed class DifferentialBitmapTests : RedisReferenceFixture
{
    private static readonly string[] Keys = ["b1", "b2", "b3", "l1", "nokey"];

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void RandomCommands_ReplyAsRedisDoes(int seed)
    {
        using var reference = Reference.Connect();
        foreach (var c in new[] { Client, reference }) RespAssert.IsOk(c.Call("FLUSHALL"));
        var gen = new CommandGenerator(new Random(seed));
        const int Commands = 3000;
        for (int i = 0; i < Commands; i++)
        {
            var cmd = gen.Next();
            string a = Canon(Client.Call(cmd)), b = Canon(reference.Call(cmd));
            if (a != b) Assert.Fail($"command #{i} of seed {seed}: {Describe(cmd)}\n  server under test: {Shorten(a)}\n  redis-server:      {Shorten(b)}");
            if (i % 50 == 49) CompareState(reference, $"after command #{i} of seed {seed} ({Describe(cmd)})");
        }
        CompareState(reference, $"at the end of seed {seed}");
    }

    /// <summary>Counting, searching and combining across a 100 KB bitmap, where whole words and bytes are
    /// skipped at once, and the edges of every unit fall inside words.</summary>
    [Test]
    public void LargeBitmaps_CountSearchAndCombineAsRedisDoes()
    {
        using var reference = Reference.Connect();
        var rng = new Random(7);
        var commands = new List<string[]> { new[] { "FLUSHALL" } };
        for (int i = 0; i < 300; i++) commands.Add(["SETBIT", "big", rng.Next(800_000).ToString(CultureInfo.InvariantCulture), "1"]);
        commands.Add(["SETBIT", "ones", "799999", "1"]);
        commands.Add(["BITOP", "NOT", "ones", "ones"]);
        commands.Add(["SETBIT", "ones", "654321", "0"]);
        foreach (var (start, end) in new[] { (0L, -1L), (3L, 70_000L), (-50_000L, -3L), (1_001L, 1_001L), (9L, 99_998L) })
        {
            foreach (var unit in new[] { "BYTE", "BIT" })
            {
                string s = start.ToString(CultureInfo.InvariantCulture), e = end.ToString(CultureInfo.InvariantCulture);
                commands.Add(["BITCOUNT", "big", s, e, unit]);
                commands.Add(["BITPOS", "big", "1", s, e, unit]);
                commands.Add(["BITPOS", "ones", "0", s, e, unit]);
                commands.Add(["BITPOS", "ones", "0", s]);
                commands.Add(["BITPOS", "big", "0", s, e, unit]);
            }
        }
        commands.Add(["BITOP", "AND", "and", "big", "ones"]);
        commands.Add(["BITOP", "OR", "or", "big", "ones", "nokey"]);
        commands.Add(["BITOP", "XOR", "xor", "big", "ones", "big"]);
        foreach (var k in new[] { "and", "or", "xor" })
        {
            commands.Add(["BITCOUNT", k]);
            commands.Add(["BITPOS", k, "1", "1000"]);
            commands.Add(["GET", k]);
        }
        foreach (var cmd in commands)
        {
            string a = Canon(Client.Call(cmd)), b = Canon(reference.Call(cmd));
            Assert.That(a, Is.EqualTo(b), Describe(cmd));
        }
    }

    private void CompareState(RawClient reference, string when)
    {
        foreach (var key in Keys)
        {
            foreach (var probe in new[] { new[] { "TYPE", key }, ["GET", key], ["STRLEN", key], ["BITCOUNT", key] })
            {
                string a = Canon(Client.Call(probe)), b = Canon(reference.Call(probe));
                Assert.That(a, Is.EqualTo(b), $"state differs {when}: {Describe(probe)}");
            }
        }
    }

    /// <summary>Random bitmap and string commands over a handful of keys, weighted towards edges.</summary>
    private sealed class CommandGenerator(Random rng)
    {
        private static readonly string[] Ranges =
            ["0", "1", "-1", "2", "-2", "3", "-3", "7", "8", "-8", "9", "15", "16", "-17", "31", "100", "-100", "1000",
             "9223372036854775807", "-9223372036854775808", "x", "1.5", ""];

        private static readonly string[] BadOffsets = ["-1", "4294967296", "x", "1.5", "", "+1", "#1", "99999999999999999999"];

        private static readonly string[] Limits =
            ["0", "1", "-1", "127", "128", "-128", "-129", "255", "256", "32767", "-32768", "65535", "2147483647", "-2147483648",
             "4294967295", "9223372036854775807", "-9223372036854775808", "x", "1e3"];

        private string Key() => Keys[rng.Next(Keys.Length)];

        private string Range() => rng.Next(3) == 0
            ? rng.Next(-40, 41).ToString(CultureInfo.InvariantCulture)
            : Ranges[rng.Next(Ranges.Length)];

        private string Offset() => rng.Next(12) == 0 ? BadOffsets[rng.Next(BadOffsets.Length)] : rng.Next(0, 300).ToString(CultureInfo.InvariantCulture);

        private string Unit() => rng.Next(8) switch { 0 => "bit", 1 => "byte", 2 => "BITS", 3 or 4 => "BYTE", _ => "BIT" };

        private string Value()
        {
            double r = rng.NextDouble();
            if (r < 0.15) return rng.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture);
            if (r < 0.2) return "";
            if (r < 0.3) return new string('\u00ff', rng.Next(1, 20));
            return new string("abc@\u0001\u007f"[rng.Next(6)], rng.Next(1, 40));
        }

        private string FieldType()
        {
            if (rng.Next(15) == 0) return new[] { "u64", "i65", "i0", "u0", "x8", "I8", "U8", "i", "u-1", "i08", "i+8" }[rng.Next(11)];
            bool signed = rng.Next(2) == 0;
            int bits = rng.Next(4) switch { 0 => 1, 1 => signed ? 64 : 63, 2 => 8, _ => rng.Next(1, signed ? 65 : 64) };
            return (signed ? "i" : "u") + bits.ToString(CultureInfo.InvariantCulture);
        }

        private string FieldOffset()
        {
            int r = rng.Next(14);
            if (r == 0) return BadOffsets[rng.Next(BadOffsets.Length)];
            if (r < 4) return "#" + rng.Next(0, 12).ToString(CultureInfo.InvariantCulture);
            return rng.Next(0, 200).ToString(CultureInfo.InvariantCulture);
        }

        private string FieldValue() => rng.Next(3) == 0 ? Limits[rng.Next(Limits.Length)] : rng.Next(-300, 300).ToString(CultureInfo.InvariantCulture);

        private string[] BitField(string name, bool getsOnly)
        {
            var cmd = new List<string> { name, Key() };
            for (int n = rng.Next(0, 5); n > 0; n--)
            {
                switch (getsOnly && rng.Next(6) != 0 ? 0 : rng.Next(5))
                {
                    case 0: cmd.AddRange(["GET", FieldType(), FieldOffset()]); break;
                    case 1: cmd.AddRange([rng.Next(2) == 0 ? "SET" : "set", FieldType(), FieldOffset(), FieldValue()]); break;
                    case 2: cmd.AddRange(["INCRBY", FieldType(), FieldOffset(), FieldValue()]); break;
                    case 3: cmd.AddRange(["OVERFLOW", new[] { "WRAP", "SAT", "FAIL", "fail", "sat", "NONE" }[rng.Next(6)]]); break;
                    default:
                        // A truncated or unknown operation.
                        cmd.AddRange(rng.Next(3) switch { 0 => ["GET", FieldType()], 1 => ["INCR", "u8", "0", "1"], _ => ["OVERFLOW"] });
                        break;
                }
            }
            return [.. cmd];
        }

        public string[] Next()
        {
            string k = Key();
            switch (rng.Next(30))
            {
                case 0: case 1: case 2: case 3:
                {
                    string bit = rng.Next(10) == 0 ? new[] { "2", "-1", "x", "", "01" }[rng.Next(5)] : rng.Next(2).ToString(CultureInfo.InvariantCulture);
                    return ["SETBIT", k, Offset(), bit];
                }
                case 4: case 5: return ["GETBIT", k, Offset()];
                case 6: case 7: case 8:
                    return rng.Next(5) switch
                    {
                        0 => ["BITCOUNT", k],
                        1 => ["BITCOUNT", k, Range()],
                        2 => ["BITCOUNT", k, Range(), Range()],
                        _ => ["BITCOUNT", k, Range(), Range(), Unit()],
                    };
                case 9: case 10: case 11:
                {
                    string bit = rng.Next(12) == 0 ? new[] { "2", "-1", "x" }[rng.Next(3)] : rng.Next(2).ToString(CultureInfo.InvariantCulture);
                    return rng.Next(5) switch
                    {
                        0 => ["BITPOS", k, bit],
                        1 => ["BITPOS", k, bit, Range()],
                        2 => ["BITPOS", k, bit, Range(), Range()],
                        3 => ["BITPOS", k, bit, Range(), Range(), Unit()],
                        _ => ["BITPOS", k, bit, Range(), Range(), Unit(), "x"],
                    };
                }
                case 12: case 13: case 14:
                {
                    string op = rng.Next(10) == 0 ? new[] { "NAND", "", "and " }[rng.Next(3)] : new[] { "AND", "OR", "XOR", "NOT", "and", "xor" }[rng.Next(6)];
                    var cmd = new List<string> { "BITOP", op, k };
                    for (int n = op == "NOT" && rng.Next(4) != 0 ? 1 : rng.Next(1, 4); n > 0; n--) cmd.Add(Key());
                    return [.. cmd];
                }
                case 15: case 16: case 17: case 18: return BitField("BITFIELD", getsOnly: false);
                case 19: return BitField("BITFIELD_RO", getsOnly: true);
                case 20: case 21: return ["SET", k, Value()];
                case 22: return ["APPEND", k, Value()];
                case 23: return ["SETRANGE", k, rng.Next(0, 30).ToString(CultureInfo.InvariantCulture), Value()];
                case 24: return ["DEL", k];
                case 25: return ["LPUSH", "l1", Value()];
                case 26: return ["GET", k];
                case 27: return ["SET", k, rng.Next(-100000, 100000).ToString(CultureInfo.InvariantCulture)];
                case 28: return ["INCR", k];
                default: return ["STRLEN", k];
            }
        }
    }
}
