// HashValue: the listpack and hashtable encodings against a Dictionary model, the conversion rules
// (pair count and field/value length), a 100k-field table through growth, incremental rehash and
// shrinking, HSCAN's cursor guarantee across resizes, cloning, and memory returned to the arena.
using System.Text;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Types;
using NUnit.Framework;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Tests.Unit;

[TestFixture]
public sealed unsafe class HashValueTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [OneTimeSetUp]
    public void Register() => TypeRegistry.EnsureRegistered();

    private static Entry* NewHash(Shard shard, string key)
    {
        Entry* e = shard.Insert(B(key), shard.BucketHash(B(key)), ValueType.Hash, sizeof(nint));
        HashValue.InitEmpty(shard.Arena, e);
        return e;
    }

    private static Dictionary<string, string> Contents(Entry* e)
    {
        var d = new Dictionary<string, string>();
        var it = new HashValue.Iterator(e);
        while (it.Next(out var f, out var v))
            Assert.That(d.TryAdd(Encoding.UTF8.GetString(f), Encoding.UTF8.GetString(v)), Is.True, "a field seen twice");
        return d;
    }

    private struct Collect : IDictVisitor
    {
        public HashSet<string> Seen;

        public void Visit(DictEntry* d) => Seen.Add(Encoding.UTF8.GetString(DictEntry.Field(d)));
    }

    [Test]
    public void Listpack_ConvertsAfterMaxEntries_AndStaysConverted()
    {
        var shard = new Shard(0, seed: 0);
        Entry* e = NewHash(shard, "h");
        for (int i = 0; i < 128; i++) HashValue.Set(shard.Arena, e, B("f" + i), B("v" + i), 128, 64);
        Assert.That(e->Encoding, Is.EqualTo(HashEncoding.Listpack));
        Assert.That(HashValue.Set(shard.Arena, e, B("f5"), B("updated"), 128, 64), Is.False, "an update, not a new field");
        Assert.That(e->Encoding, Is.EqualTo(HashEncoding.Listpack), "updating does not add a pair");
        Assert.That(HashValue.Set(shard.Arena, e, B("f128"), B("v"), 128, 64), Is.True);
        Assert.That(e->Encoding, Is.EqualTo(HashEncoding.Hashtable));
        var d = Contents(e);
        Assert.That(d.Count, Is.EqualTo(129));
        Assert.That(d["f5"], Is.EqualTo("updated"));
        for (int i = 0; i < 120; i++) Assert.That(HashValue.Delete(shard.Arena, e, B("f" + i)), Is.True);
        Assert.That(e->Encoding, Is.EqualTo(HashEncoding.Hashtable), "like Redis, never back to listpack");
        Assert.That(HashValue.Length(e), Is.EqualTo(9));
        shard.Clear();
    }

    [TestCase(true)]
    [TestCase(false)]
    public void LongFieldOrValue_Converts(bool longField)
    {
        var shard = new Shard(0, seed: 0);
        Entry* e = NewHash(shard, "h");
        HashValue.Set(shard.Arena, e, B("a"), B("1"), 128, 64);
        string exactly64 = new('q', 64);
        HashValue.Set(shard.Arena, e, B(longField ? exactly64 : "b"), B(longField ? "2" : exactly64), 128, 64);
        Assert.That(e->Encoding, Is.EqualTo(HashEncoding.Listpack), "64 bytes is still within hash-max-listpack-value");
        string over = new('r', 65);
        HashValue.Set(shard.Arena, e, B(longField ? over : "c"), B(longField ? "3" : over), 128, 64);
        Assert.That(e->Encoding, Is.EqualTo(HashEncoding.Hashtable));
        Assert.That(Contents(e).Count, Is.EqualTo(3));
        shard.Clear();
    }

    [TestCase(512, 64)]
    [TestCase(4, 8)]
    [TestCase(0, 0)]
    public void RandomOperations_MatchADictionary(int maxEntries, int maxValue)
    {
        var shard = new Shard(0, seed: 0);
        Entry* e = NewHash(shard, "h");
        var model = new Dictionary<string, string>();
        var rng = new Random(maxEntries * 31 + maxValue);
        for (int step = 0; step < 20_000; step++)
        {
            string f = "f" + rng.Next(300);
            switch (rng.Next(4))
            {
                case 0:
                case 1:
                {
                    string v = rng.Next(10) == 0 ? new string('v', rng.Next(0, 200)) : "v" + rng.Next(100_000);
                    bool isNew = HashValue.Set(shard.Arena, e, B(f), B(v), maxEntries, maxValue);
                    Assert.That(isNew, Is.EqualTo(!model.ContainsKey(f)));
                    model[f] = v;
                    break;
                }
                case 2:
                    Assert.That(HashValue.Delete(shard.Arena, e, B(f)), Is.EqualTo(model.Remove(f)));
                    break;
                default:
                    bool found = HashValue.TryGet(shard.Arena, e, B(f), out var value);
                    Assert.That(found, Is.EqualTo(model.ContainsKey(f)));
                    if (found) Assert.That(Encoding.UTF8.GetString(value), Is.EqualTo(model[f]));
                    break;
            }
            Assert.That(HashValue.Length(e), Is.EqualTo(model.Count));
        }
        Assert.That(Contents(e), Is.EquivalentTo(model));
        Assert.That(HashValue.SizeOf(e), Is.LessThanOrEqualTo(shard.Arena.LiveBytes));
        shard.Delete(e);
        Assert.That(shard.Arena.LiveBytes, Is.Zero, "the free hook returned everything");
    }

    [Test]
    public void HundredThousandFields_GrowRehashShrink()
    {
        var shard = new Shard(0, seed: 0);
        Entry* e = NewHash(shard, "big");
        const int N = 100_000;
        for (int i = 0; i < N; i++) HashValue.Set(shard.Arena, e, B("field:" + i), B("value:" + i), 512, 64);
        Assert.That(e->Encoding, Is.EqualTo(HashEncoding.Hashtable));
        Assert.That(HashValue.Length(e), Is.EqualTo(N));
        for (int i = 0; i < N; i += 997)
        {
            Assert.That(HashValue.TryGet(shard.Arena, e, B("field:" + i), out var v), Is.True);
            Assert.That(Encoding.UTF8.GetString(v), Is.EqualTo("value:" + i));
        }
        var dict = HashValue.Dict(e);
        long grownSize = Math.Max(dict->Size0, dict->Size1);
        Assert.That(grownSize, Is.GreaterThanOrEqualTo(N / 2));
        for (int i = 0; i < N - 100; i++) Assert.That(HashValue.Delete(shard.Arena, e, B("field:" + i)), Is.True);
        // Let the shrink's incremental rehash finish (a lookup moves a bucket).
        for (int i = 0; i < 200_000 && dict->RehashIdx >= 0; i++) HashValue.TryGet(shard.Arena, e, B("x"), out _);
        Assert.That(dict->Size0, Is.LessThan(1024), "the table shrinks with its content");
        Assert.That(Contents(e).Count, Is.EqualTo(100));
        long before = shard.Arena.LiveBytes;
        Assert.That(HashValue.SizeOf(e), Is.LessThanOrEqualTo(before));
        shard.Delete(e);
        Assert.That(shard.Arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void Scan_VisitsEveryFieldPresentThroughout_AcrossResizes()
    {
        var shard = new Shard(0, seed: 0);
        Entry* e = NewHash(shard, "h");
        for (int i = 0; i < 1000; i++) HashValue.Set(shard.Arena, e, B("keep" + i), B("v"), 16, 64);
        var visitor = new Collect { Seen = new HashSet<string>() };
        ulong cursor = 0;
        int round = 0;
        do
        {
            cursor = HashValue.DictScan(HashValue.Dict(e), cursor, ref visitor);
            // Grow the table (and later shrink it) between calls, as concurrent writers would.
            if (round < 40) for (int j = 0; j < 200; j++) HashValue.Set(shard.Arena, e, B($"tmp{round}_{j}"), B("v"), 16, 64);
            else if (round == 40) for (int r = 0; r < 40; r++) for (int j = 0; j < 200; j++) HashValue.Delete(shard.Arena, e, B($"tmp{r}_{j}"));
            round++;
        } while (cursor != 0);
        for (int i = 0; i < 1000; i++) Assert.That(visitor.Seen, Does.Contain("keep" + i));
        shard.Clear();
    }

    [TestCase(8)]
    [TestCase(512)]
    public void Clone_KeepsEncodingAndContent(int maxEntries)
    {
        var a = new Shard(0, seed: 0);
        var b = new Shard(1, seed: 0);
        Entry* e = NewHash(a, "h");
        for (int i = 0; i < 100; i++) HashValue.Set(a.Arena, e, B("f" + i), B("v" + i), maxEntries, 64);
        Entry* copy = b.Insert(B("h2"), b.BucketHash(B("h2")), ValueType.Hash, sizeof(nint));
        copy->Encoding = e->Encoding;
        Entry.Object(copy) = ValueTypeHooks.Clone[(int)ValueType.Hash](b.Arena, e);
        Assert.That(Contents(copy), Is.EquivalentTo(Contents(e)));
        Assert.That(copy->Encoding, Is.EqualTo(e->Encoding));
        a.Delete(e);
        Assert.That(Contents(copy).Count, Is.EqualTo(100));
        Assert.That(ValueTypeHooks.Size[(int)ValueType.Hash](copy), Is.GreaterThan(0));
        b.Delete(copy);
        Assert.That(a.Arena.LiveBytes + b.Arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void RandomPick_ReturnsExistingFields()
    {
        var shard = new Shard(0, seed: 0);
        Entry* e = NewHash(shard, "h");
        for (int i = 0; i < 300; i++) HashValue.Set(shard.Arena, e, B("f" + i), B("v" + i), 8, 64);
        var seen = new HashSet<string>();
        var rng = new Random(5);
        for (int i = 0; i < 5000; i++)
        {
            DictEntry* x = HashValue.DictRandom(shard.Arena, HashValue.Dict(e), rng);
            string f = Encoding.UTF8.GetString(DictEntry.Field(x));
            Assert.That(Encoding.UTF8.GetString(DictEntry.Value(x)), Is.EqualTo("v" + f[1..]));
            seen.Add(f);
        }
        Assert.That(seen.Count, Is.GreaterThan(250), "picks spread over the whole hash");
        shard.Clear();
    }
}
