// The set structure (engine/Types/SetValue.cs) on its own: intset order and limits, the one-way
// conversion to a hashtable, large sets, random members, copies into another arena, and exact memory
// accounting (every byte comes from the arena and is given back).
using System.Text;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Types;
using NUnit.Framework;

namespace NativeKv.Tests.Unit;

public sealed unsafe class SetValueTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static List<string> Members(SetObject* s)
    {
        var list = new List<string>();
        Span<byte> scratch = stackalloc byte[SetValue.IntScratch];
        var it = new SetIterator(s, scratch);
        while (it.Next(out var m))
        {
            list.Add(Encoding.UTF8.GetString(m));
        }
        return list;
    }

    [Test]
    public void Intset_KeepsMembersSortedAndConvertsPastTheLimit()
    {
        using var arena = new SlabArena();
        SetObject* s = SetValue.Create(arena, SetValue.EncIntset);
        var rng = new Random(1);
        var values = Enumerable.Range(-256, 512).OrderBy(_ => rng.Next()).ToList();
        foreach (int v in values)
        {
            Assert.That(SetValue.Add(arena, s, B(v.ToString()), 512), Is.True);
        }
        Assert.That(SetValue.Add(arena, s, B("7"), 512), Is.False, "duplicate");
        Assert.That(s->Encoding, Is.EqualTo(SetValue.EncIntset));
        Assert.That(Members(s), Is.EqualTo(Enumerable.Range(-256, 512).Select(v => v.ToString()).ToList()));

        Assert.That(SetValue.Add(arena, s, B("1000"), 512), Is.True);
        Assert.That(s->Encoding, Is.EqualTo(SetValue.EncHashtable), "the 513th member converts");
        Assert.That(SetValue.Count(s), Is.EqualTo(513));
        Assert.That(Members(s).Order().ToList(), Is.EqualTo(Enumerable.Range(-256, 512).Append(1000).Select(v => v.ToString()).Order().ToList()));
        for (int v = -256; v < 256; v++)
        {
            Assert.That(SetValue.Remove(arena, s, B(v.ToString())), Is.True);
        }
        Assert.That(s->Encoding, Is.EqualTo(SetValue.EncHashtable), "a set never converts back");
        SetValue.Free(arena, s);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [TestCase("abc")]
    [TestCase("01")]
    [TestCase("+1")]
    [TestCase("-0")]
    [TestCase(" 1")]
    [TestCase("1.0")]
    [TestCase("9223372036854775808")]
    public void Intset_NonCanonicalIntegerConvertsToHashtable(string member)
    {
        using var arena = new SlabArena();
        SetObject* s = SetValue.CreateFor(arena, B("5"));
        Assert.That(s->Encoding, Is.EqualTo(SetValue.EncIntset));
        SetValue.Add(arena, s, B("5"), 512);
        Assert.That(SetValue.Contains(s, B(member)), Is.False);
        Assert.That(SetValue.Remove(arena, s, B(member)), Is.False);
        Assert.That(SetValue.Add(arena, s, B(member), 512), Is.True);
        Assert.That(s->Encoding, Is.EqualTo(SetValue.EncHashtable));
        Assert.That(SetValue.Contains(s, B(member)), Is.True);
        Assert.That(SetValue.Contains(s, B("5")), Is.True);
        SetValue.Free(arena, s);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void Intset_ExtremeValuesRoundTrip()
    {
        using var arena = new SlabArena();
        SetObject* s = SetValue.CreateFor(arena, B("0"));
        foreach (var v in new[] { long.MaxValue, long.MinValue, 0L, -1L, 1L })
        {
            SetValue.Add(arena, s, B(v.ToString()), 512);
        }
        Assert.That(s->Encoding, Is.EqualTo(SetValue.EncIntset));
        Assert.That(Members(s), Is.EqualTo(new[] { long.MinValue.ToString(), "-1", "0", "1", long.MaxValue.ToString() }));
        SetValue.Free(arena, s);
    }

    [Test]
    public void Hashtable_100kMembers_AddFindRemoveAndIterateOnce()
    {
        using var arena = new SlabArena();
        SetObject* s = SetValue.Create(arena, SetValue.EncHashtable);
        const int N = 100_000;
        for (int i = 0; i < N; i++)
        {
            Assert.That(SetValue.Add(arena, s, B("member:" + i), 512), Is.True);
        }
        Assert.That(SetValue.Count(s), Is.EqualTo(N));
        var seen = Members(s);
        Assert.That(seen, Has.Count.EqualTo(N));
        Assert.That(seen.Distinct().Count(), Is.EqualTo(N));
        for (int i = 0; i < N; i += 2)
        {
            Assert.That(SetValue.Remove(arena, s, B("member:" + i)), Is.True);
        }
        for (int i = 0; i < N; i++)
        {
            Assert.That(SetValue.Contains(s, B("member:" + i)), Is.EqualTo(i % 2 == 1), $"member:{i}");
        }
        Assert.That(SetValue.Count(s), Is.EqualTo(N / 2));
        for (int i = 1; i < N - 2000; i += 2)
        {
            SetValue.Remove(arena, s, B("member:" + i));
        }
        Assert.That(SetValue.Count(s), Is.EqualTo(1000));
        Assert.That(s->Table.Size, Is.LessThanOrEqualTo(8192), "the table shrinks as members go");
        Assert.That(SetValue.BytesOf(s), Is.EqualTo(arena.LiveBytes));
        SetValue.Free(arena, s);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void BytesOf_IsExactlyWhatTheArenaHandedOut()
    {
        using var arena = new SlabArena();
        SetObject* s = SetValue.Create(arena, SetValue.EncIntset);
        for (int i = 0; i < 300; i++)
        {
            SetValue.Add(arena, s, B(i.ToString()), 512);
        }
        Assert.That(SetValue.BytesOf(s), Is.EqualTo(arena.LiveBytes), "intset");
        for (int i = 0; i < 3000; i++)
        {
            SetValue.Add(arena, s, B("x" + new string('y', i % 40) + i), 512);
        }
        Assert.That(SetValue.BytesOf(s), Is.EqualTo(arena.LiveBytes), "hashtable");
        for (int i = 0; i < 2500; i++)
        {
            SetValue.Remove(arena, s, B("x" + new string('y', i % 40) + i));
        }
        Assert.That(SetValue.BytesOf(s), Is.EqualTo(arena.LiveBytes), "after removals");
        SetValue.Free(arena, s);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void Clone_CopiesIntoAnotherArena_Independently()
    {
        using var a = new SlabArena();
        using var b = new SlabArena();
        foreach (byte enc in new[] { SetValue.EncIntset, SetValue.EncHashtable })
        {
            SetObject* s = SetValue.Create(a, enc);
            for (int i = 0; i < 200; i++)
            {
                SetValue.Add(a, s, B(enc == SetValue.EncIntset ? i.ToString() : "m" + i), 512);
            }
            SetObject* copy = SetValue.Clone(b, s);
            Assert.That(copy->Encoding, Is.EqualTo(enc));
            Assert.That(Members(copy).Order(), Is.EqualTo(Members(s).Order()));
            Assert.That(SetValue.BytesOf(copy), Is.EqualTo(b.LiveBytes));
            SetValue.Free(a, s);
            Assert.That(a.LiveBytes, Is.Zero);
            Assert.That(SetValue.Count(copy), Is.EqualTo(200));
            SetValue.Free(b, copy);
            Assert.That(b.LiveBytes, Is.Zero);
        }
    }

    [Test]
    public void RandomMember_ReachesEveryMember_AndRemoveByTokenRemovesIt()
    {
        using var arena = new SlabArena();
        var rng = new Random(7);
        Span<byte> scratch = stackalloc byte[SetValue.IntScratch];
        foreach (byte enc in new[] { SetValue.EncIntset, SetValue.EncHashtable })
        {
            SetObject* s = SetValue.Create(arena, enc);
            for (int i = 0; i < 50; i++)
            {
                SetValue.Add(arena, s, B(enc == SetValue.EncIntset ? i.ToString() : "m" + i), 512);
            }
            var seen = new HashSet<string>();
            for (int i = 0; i < 5000; i++)
            {
                seen.Add(Encoding.UTF8.GetString(SetValue.RandomMember(s, rng, scratch, out _)));
            }
            Assert.That(seen, Has.Count.EqualTo(50));
            var popped = new HashSet<string>();
            while (SetValue.Count(s) > 0)
            {
                var m = Encoding.UTF8.GetString(SetValue.RandomMember(s, rng, scratch, out long token));
                SetValue.RemoveByToken(arena, s, token);
                Assert.That(popped.Add(m), Is.True, $"{m} popped twice");
                Assert.That(SetValue.Contains(s, B(m)), Is.False);
            }
            Assert.That(popped, Has.Count.EqualTo(50));
            SetValue.Free(arena, s);
        }
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void MemberTable_ScanReturnsEveryMemberAcrossResizes()
    {
        using var arena = new SlabArena();
        SetObject* s = SetValue.Create(arena, SetValue.EncHashtable);
        for (int i = 0; i < 1000; i++)
        {
            SetValue.Add(arena, s, B("k" + i), 512);
        }
        var seen = new HashSet<string>();
        ulong cursor = 0;
        int step = 0;
        do
        {
            var v = new Collect { Into = seen };
            cursor = s->Table.Scan(cursor, ref v);
            step++;
            // Grow and shrink the table while the walk is under way.
            if (step == 50)
            {
                for (int i = 1000; i < 5000; i++)
                {
                    SetValue.Add(arena, s, B("k" + i), 512);
                }
            }
            if (step == 400)
            {
                for (int i = 1000; i < 5000; i++)
                {
                    SetValue.Remove(arena, s, B("k" + i));
                }
            }
        } while (cursor != 0);
        for (int i = 0; i < 1000; i++)
        {
            Assert.That(seen, Does.Contain("k" + i), "a member present for the whole scan is returned");
        }
        SetValue.Free(arena, s);
    }

    private struct Collect : IMemberVisitor
    {
        public HashSet<string> Into;

        public void Visit(MemberLink* n) => Into.Add(Encoding.UTF8.GetString(new ReadOnlySpan<byte>(SetNode.Bytes(n), n->Length)));
    }
}
