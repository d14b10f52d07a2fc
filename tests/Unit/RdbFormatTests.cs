// The persistence formats in isolation: Redis's CRC-64 variant, LZF, RDB lengths and strings, and the
// decoders for every aggregate encoding Redis writes (checked against a dump.rdb made by redis-server 7
// and against hand-built ziplist/zipmap blobs of older versions), ready for the list/hash/set/zset types.
using System.Text;
using NativeKv.Engine.Persistence;
using NativeKv.Tests.Harness;
using NativeKv.Tests.Integration;
using NUnit.Framework;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Tests.Unit;

public sealed unsafe class RdbFormatTests
{
    [Test]
    public void Crc64_IsRedisJonesVariant()
    {
        Assert.That(Crc64.Compute("123456789"u8), Is.EqualTo(0xe9c6d914c4b8d9caUL));
        var data = new byte[10_000];
        new Random(1).NextBytes(data);
        ulong whole = Crc64.Compute(data);
        ulong parts = Crc64.Update(Crc64.Update(0, data.AsSpan(0, 3333)), data.AsSpan(3333));
        Assert.That(parts, Is.EqualTo(whole), "incremental = one pass");
        Assert.That(whole, Is.Not.EqualTo(System.IO.Hashing.Crc64.HashToUInt64(data)), "not the ECMA-182 variant");
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(21)]
    [TestCase(1000)]
    [TestCase(100_000)]
    public void Lzf_RoundTrips(int size)
    {
        var rng = new Random(size);
        foreach (var data in new[] { Compressible(size, rng), Random(size, rng) })
        {
            var output = new byte[Math.Max(size, 16)];
            int n;
            fixed (byte* i = data)
            fixed (byte* o = output)
                n = Lzf.Compress(i, data.Length, o, output.Length);
            if (n == 0) continue; // did not fit: stored raw
            var back = new byte[size];
            fixed (byte* i = output)
            fixed (byte* o = back)
                Assert.That(Lzf.Decompress(i, n, o, size), Is.True);
            Assert.That(back, Is.EqualTo(data));
        }
        if (size >= 1000)
        {
            var text = Compressible(size, rng);
            var o2 = new byte[size];
            fixed (byte* i = text)
            fixed (byte* o = o2)
                Assert.That(Lzf.Compress(i, size, o, size), Is.InRange(1, size / 3), "repetitive text compresses");
        }
    }

    [Test]
    public void Lzf_MalformedInput_IsRejectedNotOverrun()
    {
        var output = new byte[10];
        byte[][] bad = [[31, 1, 2], [0xE0, 0], [0x20, 0x00], [5, 1, 2, 3, 4, 5, 6, 0x40, 0xFF]];
        foreach (var input in bad)
        {
            fixed (byte* i = input)
            fixed (byte* o = output)
                Assert.That(Lzf.Decompress(i, input.Length, o, output.Length), Is.False);
        }
    }

    private static byte[] Compressible(int size, Random rng)
    {
        var words = new[] { "alpha ", "beta ", "gamma ", "delta " };
        var sb = new StringBuilder();
        while (sb.Length < size) sb.Append(words[rng.Next(4)]);
        return Encoding.ASCII.GetBytes(sb.ToString(0, size));
    }

    private static byte[] Random(int size, Random rng)
    {
        var b = new byte[size];
        rng.NextBytes(b);
        return b;
    }

    [Test]
    public void Strings_WriteAndReadBackInEveryEncoding()
    {
        string[] samples = ["", "0", "-1", "127", "-128", "32767", "-32768", "2147483647", "-2147483648", "2147483648", "007", "+1", "-0",
            "hello", new string('a', 63), new string('b', 64), new string('c', 16383), new string('d', 16384), string.Concat(Enumerable.Repeat("xyz", 10000))];
        using var w = new RdbWriter();
        foreach (var s in samples) w.WriteString(Encoding.ASCII.GetBytes(s));
        w.WriteLength(uint.MaxValue + 10UL);
        fixed (byte* p = w.Written)
        {
            using var input = new RdbInput(p, w.Length);
            using var r = new RdbReader(input);
            using var scratch = new Scratch();
            foreach (var s in samples) Assert.That(Encoding.ASCII.GetString(r.ReadString(scratch)), Is.EqualTo(s));
            Assert.That(r.ReadLength(), Is.EqualTo(uint.MaxValue + 10L));
        }
        using var ints = new RdbWriter();
        ints.WriteString("12"u8);
        Assert.That(ints.Written.ToArray(), Is.EqualTo(new byte[] { 0xC0, 12 }), "INT8 encoding");
    }

    private sealed class Collected
    {
        public ValueType Type;
        public readonly List<string> A = new();
        public readonly List<string> B = new();
        public readonly List<double> Scores = new();
    }

    private struct CollectSink : IRdbValueSink
    {
        public Collected Into;

        public void Begin(ValueType type, long count) => Into.Type = type;

        public bool Add(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, double score)
        {
            Into.A.Add(Encoding.UTF8.GetString(a));
            Into.B.Add(Encoding.UTF8.GetString(b));
            Into.Scores.Add(score);
            return true;
        }
    }

    /// <summary>Walks an RDB file and decodes every value (what the loader does, with a collecting sink).</summary>
    private static Dictionary<string, Collected> Decode(byte[] file)
    {
        var result = new Dictionary<string, Collected>();
        fixed (byte* p = file)
        {
            using var input = new RdbInput(p, file.Length);
            using var r = new RdbReader(input);
            using var keyScratch = new Scratch();
            input.Take(9);
            while (true)
            {
                byte type = input.ReadByte();
                if (type == RdbFormat.OpEof) break;
                switch (type)
                {
                    case RdbFormat.OpAux: r.SkipString(); r.SkipString(); continue;
                    case RdbFormat.OpSelectDb: r.ReadLength(); continue;
                    case RdbFormat.OpResizeDb: r.ReadLength(); r.ReadLength(); continue;
                    case RdbFormat.OpExpireTimeMs: r.ReadMillisecondTime(); continue;
                }
                string key = Encoding.UTF8.GetString(r.ReadString(keyScratch));
                var c = new Collected();
                if (type == RdbFormat.TypeString)
                {
                    c.Type = ValueType.String;
                    c.A.Add(Encoding.UTF8.GetString(r.ReadString(keyScratch)));
                }
                else
                {
                    var sink = new CollectSink { Into = c };
                    r.ReadAggregate(type, ref sink);
                }
                result[key] = c;
            }
            ulong computed = input.Crc;
            Assert.That(BitConverter.ToUInt64(file, file.Length - 8), Is.EqualTo(computed), "the file's CRC matches ours");
        }
        return result;
    }

    [Test]
    [Category(TestTarget.Integration)]
    public void RedisServerAggregates_AllEncodingsDecode()
    {
        using var dir = new DataDir();
        using (var redis = RedisReference.Start(dir.Path))
        {
            using var c = redis.Connect();
            c.Call("RPUSH", "list-small", "a", "b", "12", "-5", "c");
            c.Call(["RPUSH", "list-big", .. Enumerable.Range(0, 3000).Select(i => i % 2 == 0 ? "element-" + i : (i * 1000).ToString())]);
            c.Call("SADD", "set-ints", "1", "2", "300", "-70000", "5000000000");
            c.Call("SADD", "set-strings", "x", "y", "z");
            c.Call(["SADD", "set-big", .. Enumerable.Range(0, 600).Select(i => "m" + i)]);
            c.Call("HSET", "hash-small", "f1", "v1", "f2", "123", "n", "-1");
            c.Call(["HSET", "hash-big", .. Enumerable.Range(0, 300).SelectMany(i => new[] { "field" + i, new string('v', 70) })]);
            c.Call("ZADD", "zset-small", "1.5", "a", "-2", "b", "3", "c", "inf", "d");
            c.Call(["ZADD", "zset-big", .. Enumerable.Range(0, 200).SelectMany(i => new[] { (i * 0.25).ToString(System.Globalization.CultureInfo.InvariantCulture), "member" + i })]);
            Assert.That(c.Call("OBJECT", "ENCODING", "set-ints").Text, Is.EqualTo("intset"));
            Assert.That(c.Call("OBJECT", "ENCODING", "hash-small").Text, Is.EqualTo("listpack"));
            Assert.That(c.Call("OBJECT", "ENCODING", "zset-small").Text, Is.EqualTo("listpack"));
            Assert.That(c.Call("OBJECT", "ENCODING", "zset-big").Text, Is.EqualTo("skiplist"));
            Assert.That(c.Call("OBJECT", "ENCODING", "hash-big").Text, Is.EqualTo("hashtable"));
            RespAssert.IsOk(c.Call("SAVE"));
            redis.Shutdown();
        }
        var values = Decode(File.ReadAllBytes(dir.File("dump.rdb")));
        Assert.That(values["list-small"].A, Is.EqualTo(new[] { "a", "b", "12", "-5", "c" }));
        Assert.That(values["list-small"].Type, Is.EqualTo(ValueType.List));
        Assert.That(values["list-big"].A, Is.EqualTo(Enumerable.Range(0, 3000).Select(i => i % 2 == 0 ? "element-" + i : (i * 1000).ToString()).ToArray()));
        Assert.That(values["set-ints"].A, Is.EquivalentTo(new[] { "1", "2", "300", "-70000", "5000000000" }));
        Assert.That(values["set-strings"].A, Is.EquivalentTo(new[] { "x", "y", "z" }));
        Assert.That(values["set-big"].A, Has.Count.EqualTo(600));
        Assert.That(values["hash-small"].A, Is.EqualTo(new[] { "f1", "f2", "n" }));
        Assert.That(values["hash-small"].B, Is.EqualTo(new[] { "v1", "123", "-1" }));
        Assert.That(values["hash-big"].A, Has.Count.EqualTo(300));
        Assert.That(values["hash-big"].B.Distinct().Single(), Is.EqualTo(new string('v', 70)));
        Assert.That(values["zset-small"].A, Is.EqualTo(new[] { "b", "a", "c", "d" }));
        Assert.That(values["zset-small"].Scores, Is.EqualTo(new[] { -2, 1.5, 3, double.PositiveInfinity }));
        Assert.That(values["zset-big"].A, Has.Count.EqualTo(200));
        Assert.That(values["zset-big"].Scores.Order(), Is.EqualTo(Enumerable.Range(0, 200).Select(i => i * 0.25)));
    }

    [Test]
    public void OlderEncodings_ZiplistAndZipmap_Decode()
    {
        // A ziplist (Redis <= 6.2) with a string, an immediate int, an int16 and an int24.
        var entries = new List<byte[]> { Zl("hello"u8), new byte[] { 0xF1 + 7 }, new byte[] { 0xC0, 0x30, 0x75 }, new byte[] { 0xF0, 0x00, 0x00, 0x80 } };
        var zl = BuildZiplist(entries);
        var list = DecodeSingle(RdbFormat.TypeListZiplist, zl);
        Assert.That(list.A, Is.EqualTo(new[] { "hello", "7", "30000", "-8388608" }));
        // ziplist-encoded zset: member, score pairs
        var zset = DecodeSingle(RdbFormat.TypeZSetZiplist, BuildZiplist([Zl("m"u8), Zl("2.5"u8)]));
        Assert.That(zset.A, Is.EqualTo(new[] { "m" }));
        Assert.That(zset.Scores, Is.EqualTo(new[] { 2.5 }));
        // zipmap: len, "f" -> "v"
        byte[] zipmap = [1, 1, (byte)'f', 1, 0, (byte)'v', 0xFF];
        var hash = DecodeSingle(RdbFormat.TypeHashZipmap, zipmap);
        Assert.That(hash.A, Is.EqualTo(new[] { "f" }));
        Assert.That(hash.B, Is.EqualTo(new[] { "v" }));
        // a quicklist (Redis 3.2 .. 6.2) of two ziplist nodes
        using var w = new RdbWriter(compress: false);
        w.WriteLength(2);
        w.WriteString(zl);
        w.WriteString(BuildZiplist([Zl("tail"u8)]));
        var ql = DecodeRaw(RdbFormat.TypeListQuicklist, w.Written.ToArray());
        Assert.That(ql.A, Is.EqualTo(new[] { "hello", "7", "30000", "-8388608", "tail" }));
    }

    [Test]
    public void DamagedBlobs_AreRejected()
    {
        var zl = BuildZiplist([Zl("hello"u8)]);
        zl[0] ^= 1; // zlbytes no longer matches
        Assert.Throws<RdbException>(() => DecodeSingle(RdbFormat.TypeListZiplist, zl));
        var zl2 = BuildZiplist([Zl("hello"u8)]);
        zl2[11] = 60; // string length past the end
        Assert.Throws<RdbException>(() => DecodeSingle(RdbFormat.TypeListZiplist, zl2));
        byte[] intset = [4, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0]; // says 3 int32 but holds 1
        Assert.Throws<RdbException>(() => DecodeSingle(RdbFormat.TypeSetIntset, intset));
    }

    private static byte[] Zl(ReadOnlySpan<byte> s)
    {
        var e = new byte[1 + s.Length];
        e[0] = (byte)s.Length;
        s.CopyTo(e.AsSpan(1));
        return e;
    }

    private static byte[] BuildZiplist(List<byte[]> encodedEntries)
    {
        var body = new List<byte>();
        int prev = 0;
        int lastOffset = 10;
        foreach (var e in encodedEntries)
        {
            lastOffset = 10 + body.Count;
            body.Add((byte)prev);
            body.AddRange(e);
            prev = 1 + e.Length;
        }
        var zl = new List<byte>();
        int total = 10 + body.Count + 1;
        zl.AddRange(BitConverter.GetBytes(total));
        zl.AddRange(BitConverter.GetBytes(lastOffset));
        zl.AddRange(BitConverter.GetBytes((ushort)encodedEntries.Count));
        zl.AddRange(body);
        zl.Add(0xFF);
        return zl.ToArray();
    }

    private static Collected DecodeSingle(byte type, byte[] blob)
    {
        using var w = new RdbWriter(compress: false);
        w.WriteString(blob);
        return DecodeRaw(type, w.Written.ToArray());
    }

    private static Collected DecodeRaw(byte type, byte[] payload)
    {
        var c = new Collected();
        fixed (byte* p = payload)
        {
            using var input = new RdbInput(p, payload.Length);
            using var r = new RdbReader(input);
            var sink = new CollectSink { Into = c };
            r.ReadAggregate(type, ref sink);
        }
        return c;
    }
}
