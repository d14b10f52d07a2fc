// The sorted set structure (engine/Types/ZSetValue.cs) against a plain sorted reference: ranks, order,
// score and lex ranges, range deletions and score updates after thousands of random operations, in both
// encodings; conversions (listpack -> skiplist at either limit, never back; packing of results);
// 100k members; copies; exact memory accounting.
using System.Text;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Types;
using NUnit.Framework;

namespace NativeKv.Tests.Unit;

public sealed unsafe class ZSetValueTests
{
    private static readonly ZSetLimits Packed = new(1_000_000, 1_000_000);
    private static readonly ZSetLimits Default = new(128, 64);
    private static readonly ZSetLimits NoPacking = new(0, 0);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>Redis's order: score, then member bytes (memcmp, shorter first on a common prefix).</summary>
    private sealed class Order : IComparer<(double Score, string Member)>
    {
        public static readonly Order Instance = new();

        public int Compare((double Score, string Member) x, (double Score, string Member) y)
        {
            if (x.Score < y.Score)
            {
                return -1;
            }
            if (x.Score > y.Score)
            {
                return 1;
            }
            return B(x.Member).AsSpan().SequenceCompareTo(B(y.Member));
        }
    }

    private sealed class Reference
    {
        public readonly Dictionary<string, double> Scores = new();

        public List<(double Score, string Member)> Sorted() =>
            Scores.Select(kv => (kv.Value, kv.Key)).Order(Order.Instance).ToList();
    }

    private static List<(double Score, string Member)> Walk(ZSetObject* z, bool reverse = false)
    {
        var list = new List<(double, string)>();
        for (var c = reverse ? ZSetValue.Last(z) : ZSetValue.First(z); c.Valid; c.Move(reverse))
        {
            list.Add((c.Score, Encoding.UTF8.GetString(c.Member)));
        }
        return list;
    }

    private static void AssertSame(ZSetObject* z, Reference r, Random rng, string when)
    {
        var want = r.Sorted();
        Assert.That(z->Length, Is.EqualTo(want.Count), when);
        Assert.That(Walk(z), Is.EqualTo(want), when + ": ascending walk");
        var rev = Walk(z, reverse: true);
        rev.Reverse();
        Assert.That(rev, Is.EqualTo(want), when + ": descending walk (backward links)");
        for (int k = 0; k < Math.Min(50, want.Count); k++)
        {
            int i = rng.Next(want.Count);
            Assert.That(ZSetValue.Rank(z, B(want[i].Member), reverse: false), Is.EqualTo(i), $"{when}: rank of {want[i].Member}");
            Assert.That(ZSetValue.Rank(z, B(want[i].Member), reverse: true), Is.EqualTo(want.Count - 1 - i), when);
            var at = ZSetValue.AtRank(z, i);
            Assert.That(Encoding.UTF8.GetString(at.Member), Is.EqualTo(want[i].Member), $"{when}: element at rank {i}");
            Assert.That(ZSetValue.RankOf(z, at), Is.EqualTo(i), when);
            Assert.That(ZSetValue.TryGetScore(z, B(want[i].Member), out double s) && s.Equals(want[i].Score), Is.True, when);
        }
        Assert.That(ZSetValue.Rank(z, B("absent-member"), false), Is.EqualTo(-1));
        for (int k = 0; k < 10; k++)
        {
            var range = new ScoreRange { Min = rng.Next(-60, 60), Max = rng.Next(-60, 60), MinEx = rng.Next(2) == 0, MaxEx = rng.Next(2) == 0 };
            var inRange = want.Where(e => range.GteMin(e.Score) && range.LteMax(e.Score)).ToList();
            var first = ZSetValue.FirstIn(z, range);
            var last = ZSetValue.LastIn(z, range);
            Assert.That(first.Valid, Is.EqualTo(inRange.Count > 0), $"{when}: first in {range.Min}..{range.Max}");
            Assert.That(last.Valid, Is.EqualTo(inRange.Count > 0), when);
            if (inRange.Count > 0)
            {
                Assert.That(Encoding.UTF8.GetString(first.Member), Is.EqualTo(inRange[0].Member), when);
                Assert.That(Encoding.UTF8.GetString(last.Member), Is.EqualTo(inRange[^1].Member), when);
            }
        }
    }

    /// <summary>Thousands of random adds, updates (ZADD, INCR, GT/LT), removals and range deletions,
    /// checked against the reference after every batch.</summary>
    [TestCase(ZSetValue.EncSkiplist, 20_000, 400)]
    [TestCase(ZSetValue.EncListpack, 5_000, 100)]
    public void RandomOperations_MatchASortedReference(byte encoding, int operations, int members)
    {
        using var arena = new SlabArena();
        var limits = encoding == ZSetValue.EncListpack ? Packed : NoPacking;
        ZSetObject* z = ZSetValue.Create(arena, encoding);
        var r = new Reference();
        var rng = new Random(42 + encoding);
        for (int op = 1; op <= operations; op++)
        {
            string m = "m" + rng.Next(members);
            int kind = rng.Next(100);
            if (kind < 50)
            {
                double score = rng.Next(4) == 0 ? rng.Next(-3, 3) : Math.Round(rng.NextDouble() * 100 - 50, 2);
                var flags = rng.Next(6) switch { 0 => ZAddFlags.Gt, 1 => ZAddFlags.Lt, 2 => ZAddFlags.Incr, _ => ZAddFlags.None };
                var result = ZSetValue.Add(arena, z, score, B(m), flags, limits, out double newScore);
                bool had = r.Scores.TryGetValue(m, out double cur);
                double want = flags == ZAddFlags.Incr && had ? cur + score : score;
                bool skip = had && ((flags == ZAddFlags.Gt && want <= cur) || (flags == ZAddFlags.Lt && want >= cur));
                if (skip)
                {
                    Assert.That(result, Is.EqualTo(ZAddResult.Nop));
                }
                else
                {
                    Assert.That(result, Is.EqualTo(!had ? ZAddResult.Added : want == cur ? ZAddResult.Unchanged : ZAddResult.Updated));
                    Assert.That(newScore, Is.EqualTo(want));
                    r.Scores[m] = want == 0 ? 0.0 : want;
                }
            }
            else if (kind < 80)
            {
                Assert.That(ZSetValue.Remove(arena, z, B(m)), Is.EqualTo(r.Scores.Remove(m)));
            }
            else if (kind < 85 && z->Length > 0)
            {
                var sorted = r.Sorted();
                long a = rng.Next(sorted.Count), b = Math.Min(sorted.Count - 1, a + rng.Next(5));
                Assert.That(ZSetValue.DeleteRangeByRank(arena, z, a, b), Is.EqualTo(b - a + 1));
                for (long i = a; i <= b; i++)
                {
                    r.Scores.Remove(sorted[(int)i].Member);
                }
            }
            else if (kind < 90)
            {
                double lo = rng.Next(-50, 50);
                var range = new ScoreRange { Min = lo, Max = lo + rng.Next(0, 5), MinEx = rng.Next(2) == 0, MaxEx = rng.Next(2) == 0 };
                var gone = r.Scores.Where(kv => range.GteMin(kv.Value) && range.LteMax(kv.Value)).Select(kv => kv.Key).ToList();
                Assert.That(ZSetValue.DeleteRange(arena, z, range), Is.EqualTo(gone.Count));
                gone.ForEach(g => r.Scores.Remove(g));
            }
            if (op % 250 == 0)
            {
                AssertSame(z, r, rng, $"after {op} operations");
                Assert.That(ZSetValue.BytesOf(z), Is.EqualTo(arena.LiveBytes), "memory accounting");
            }
        }
        Assert.That(z->Encoding, Is.EqualTo(encoding));
        ZSetValue.Free(arena, z);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void Skiplist_100kMembers_RanksAreExact()
    {
        using var arena = new SlabArena();
        ZSetObject* z = ZSetValue.Create(arena, ZSetValue.EncSkiplist);
        const int N = 100_000;
        var rng = new Random(3);
        var order = Enumerable.Range(0, N).OrderBy(_ => rng.Next()).ToArray();
        foreach (int i in order)
        {
            // Many equal scores: ties are broken by member bytes.
            ZSetValue.Add(arena, z, i / 10, B($"m{i:D6}"), ZAddFlags.None, NoPacking, out _);
        }
        Assert.That(z->Length, Is.EqualTo(N));
        for (int i = 0; i < N; i++)
        {
            Assert.That(ZSetValue.Rank(z, B($"m{i:D6}"), false), Is.EqualTo(i));
        }
        for (int i = 0; i < N; i += 997)
        {
            Assert.That(Encoding.UTF8.GetString(ZSetValue.AtRank(z, i).Member), Is.EqualTo($"m{i:D6}"));
        }
        var range = new ScoreRange { Min = 5000, Max = 5009 };
        Assert.That(ZSetValue.RankOf(z, ZSetValue.LastIn(z, range)) - ZSetValue.RankOf(z, ZSetValue.FirstIn(z, range)) + 1, Is.EqualTo(100));
        Assert.That(ZSetValue.DeleteRangeByRank(arena, z, 10, N - 11), Is.EqualTo(N - 20));
        Assert.That(Walk(z).Select(e => e.Member), Is.EqualTo(Enumerable.Range(0, 10).Concat(Enumerable.Range(N - 10, 10)).Select(i => $"m{i:D6}")));
        Assert.That(ZSetValue.BytesOf(z), Is.EqualTo(arena.LiveBytes));
        ZSetValue.Free(arena, z);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void Listpack_ConvertsToSkiplist_AtTheEntryLimit_AndNeverBack()
    {
        using var arena = new SlabArena();
        ZSetObject* z = ZSetValue.Create(arena, ZSetValue.EncListpack);
        for (int i = 0; i < 128; i++)
        {
            ZSetValue.Add(arena, z, i, B("m" + i), ZAddFlags.None, Default, out _);
        }
        Assert.That(z->Encoding, Is.EqualTo(ZSetValue.EncListpack), "128 members fit");
        ZSetValue.Add(arena, z, 5, B("m5"), ZAddFlags.None, Default, out _);
        Assert.That(z->Encoding, Is.EqualTo(ZSetValue.EncListpack), "updating a member adds nothing");
        ZSetValue.Add(arena, z, 1000, B("m128"), ZAddFlags.None, Default, out _);
        Assert.That(z->Encoding, Is.EqualTo(ZSetValue.EncSkiplist), "the 129th converts");
        Assert.That(Walk(z).Select(e => e.Member), Is.EqualTo(Enumerable.Range(0, 129).Select(i => "m" + i)));
        for (int i = 0; i < 120; i++)
        {
            ZSetValue.Remove(arena, z, B("m" + i));
        }
        Assert.That(z->Encoding, Is.EqualTo(ZSetValue.EncSkiplist));
        ZSetValue.Free(arena, z);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void Listpack_ConvertsToSkiplist_ForALongMember()
    {
        using var arena = new SlabArena();
        ZSetObject* z = ZSetValue.Create(arena, ZSetValue.EncListpack);
        ZSetValue.Add(arena, z, 1, B(new string('a', 64)), ZAddFlags.None, Default, out _);
        Assert.That(z->Encoding, Is.EqualTo(ZSetValue.EncListpack), "64 bytes fit");
        ZSetValue.Add(arena, z, 2, B(new string('b', 65)), ZAddFlags.None, Default, out _);
        Assert.That(z->Encoding, Is.EqualTo(ZSetValue.EncSkiplist));
        Assert.That(z->Length, Is.EqualTo(2));
        ZSetValue.Free(arena, z);
    }

    [Test]
    public void Listpack_KeepsNoNegativeZero_SkiplistDoes()
    {
        using var arena = new SlabArena();
        ZSetObject* packed = ZSetValue.Create(arena, ZSetValue.EncListpack);
        ZSetObject* list = ZSetValue.Create(arena, ZSetValue.EncSkiplist);
        foreach (var z in new[] { (nint)packed, (nint)list })
        {
            var r = ZSetValue.Add(arena, (ZSetObject*)z, -0.0, B("m"), ZAddFlags.None, Default, out double reply);
            Assert.That(r, Is.EqualTo(ZAddResult.Added));
            Assert.That(double.IsNegative(reply), Is.True, "the reply shows the score computed");
        }
        ZSetValue.TryGetScore(packed, B("m"), out double p);
        ZSetValue.TryGetScore(list, B("m"), out double l);
        Assert.That(double.IsNegative(p), Is.False, "listpack stores -0 as 0, as Redis does");
        Assert.That(double.IsNegative(l), Is.True);
        ZSetValue.ConvertToPackedIfNeeded(arena, list, Default);
        Assert.That(list->Encoding, Is.EqualTo(ZSetValue.EncListpack));
        ZSetValue.TryGetScore(list, B("m"), out l);
        Assert.That(double.IsNegative(l), Is.False);
        ZSetValue.Free(arena, packed);
        ZSetValue.Free(arena, list);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void ConvertToPackedIfNeeded_OnlyWithinBothLimits()
    {
        using var arena = new SlabArena();
        ZSetObject* z = ZSetValue.Create(arena, ZSetValue.EncSkiplist);
        for (int i = 0; i < 129; i++)
        {
            ZSetValue.InsertAbsent(arena, z, -i, B("m" + i));
        }
        ZSetValue.ConvertToPackedIfNeeded(arena, z, Default);
        Assert.That(z->Encoding, Is.EqualTo(ZSetValue.EncSkiplist), "129 members");
        ZSetValue.Remove(arena, z, B("m0"));
        ZSetValue.ConvertToPackedIfNeeded(arena, z, Default);
        Assert.That(z->Encoding, Is.EqualTo(ZSetValue.EncListpack));
        Assert.That(Walk(z).Select(e => e.Member), Is.EqualTo(Enumerable.Range(1, 128).Reverse().Select(i => "m" + i)));
        Assert.That(ZSetValue.BytesOf(z), Is.EqualTo(arena.LiveBytes));
        ZSetValue.Free(arena, z);

        z = ZSetValue.Create(arena, ZSetValue.EncSkiplist);
        ZSetValue.InsertAbsent(arena, z, 1, B(new string('x', 65)));
        ZSetValue.ConvertToPackedIfNeeded(arena, z, Default);
        Assert.That(z->Encoding, Is.EqualTo(ZSetValue.EncSkiplist), "a member over 64 bytes");
        ZSetValue.Free(arena, z);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [TestCase(ZSetValue.EncListpack)]
    [TestCase(ZSetValue.EncSkiplist)]
    public void LexRanges_FollowMemcmpOrder(byte encoding)
    {
        using var arena = new SlabArena();
        ZSetObject* z = ZSetValue.Create(arena, encoding);
        string[] members = ["", "a", "aa", "ab", "b", "ba", "c", "\u00ff"];
        foreach (var m in members)
        {
            ZSetValue.Add(arena, z, 0, B(m), ZAddFlags.None, encoding == ZSetValue.EncListpack ? Packed : NoPacking, out _);
        }
        Assert.That(Walk(z).Select(e => e.Member), Is.EqualTo(members));
        var r = new LexRange { Min = B("a"), Max = B("b"), MinEx = false, MaxEx = true };
        Assert.That(Encoding.UTF8.GetString(ZSetValue.FirstIn(z, r).Member), Is.EqualTo("a"));
        Assert.That(Encoding.UTF8.GetString(ZSetValue.LastIn(z, r).Member), Is.EqualTo("ab"));
        var all = new LexRange { MinKind = -1, MaxKind = 1, MinEx = true, MaxEx = true };
        Assert.That(ZSetValue.FirstIn(z, all).Member.Length, Is.Zero);
        var none = new LexRange { MinKind = 1, MaxKind = -1, MinEx = true, MaxEx = true };
        Assert.That(none.IsEmpty, Is.True);
        Assert.That(ZSetValue.FirstIn(z, none).Valid, Is.False);
        Assert.That(ZSetValue.DeleteRange(arena, z, new LexRange { Min = B("aa"), Max = B("ba"), MinEx = true, MaxEx = false }), Is.EqualTo(3));
        Assert.That(Walk(z).Select(e => e.Member), Is.EqualTo(new[] { "", "a", "aa", "c", "\u00ff" }));
        ZSetValue.Free(arena, z);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [TestCase(ZSetValue.EncListpack)]
    [TestCase(ZSetValue.EncSkiplist)]
    public void Clone_CopiesIntoAnotherArena(byte encoding)
    {
        using var a = new SlabArena();
        using var b = new SlabArena();
        ZSetObject* z = ZSetValue.Create(a, encoding);
        for (int i = 0; i < 100; i++)
        {
            ZSetValue.Add(a, z, i % 7, B("m" + i), ZAddFlags.None, encoding == ZSetValue.EncListpack ? Packed : NoPacking, out _);
        }
        ZSetObject* copy = ZSetValue.Clone(b, z);
        Assert.That(copy->Encoding, Is.EqualTo(encoding));
        Assert.That(Walk(copy), Is.EqualTo(Walk(z)));
        Assert.That(ZSetValue.BytesOf(copy), Is.EqualTo(b.LiveBytes));
        ZSetValue.Free(a, z);
        Assert.That(a.LiveBytes, Is.Zero);
        Assert.That(ZSetValue.Rank(copy, B("m99"), false), Is.GreaterThanOrEqualTo(0));
        ZSetValue.Free(b, copy);
        Assert.That(b.LiveBytes, Is.Zero);
    }

    [Test]
    public void Accumulate_CombinesScoresThenLinksInOrder()
    {
        using var arena = new SlabArena();
        ZSetObject* z = ZSetValue.Create(arena, ZSetValue.EncSkiplist);
        ZSetValue.Accumulate(arena, z, B("a"), 3, 0);
        ZSetValue.Accumulate(arena, z, B("b"), 1, 0);
        ZSetValue.Accumulate(arena, z, B("a"), -5, 0);
        ZSetValue.Accumulate(arena, z, B("c"), double.PositiveInfinity, 0);
        ZSetValue.Accumulate(arena, z, B("c"), double.NegativeInfinity, 0);
        ZSetValue.FinishAccumulate(z);
        Assert.That(Walk(z), Is.EqualTo(new[] { (-2.0, "a"), (0.0, "c"), (1.0, "b") }));
        ZSetValue.Free(arena, z);
        Assert.That(arena.LiveBytes, Is.Zero);
    }
}
