// ListValue (the quicklist behind lists): every operation checked against a plain List<string> model
// under several node bounds, the node invariants after each step, large sizes, cloning, and that every
// byte goes back to the arena.
using System.Text;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Types;
using NUnit.Framework;

namespace NativeKv.Tests.Unit;

[TestFixture]
public sealed unsafe class ListValueTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static List<string> Contents(ListValue* l)
    {
        var result = new List<string>();
        for (var c = ListValue.First(l); c.Valid; ListValue.MoveNext(ref c)) result.Add(Encoding.UTF8.GetString(c.Value()));
        return result;
    }

    private static List<string> ContentsBackwards(ListValue* l)
    {
        var result = new List<string>();
        for (var c = ListValue.Last(l); c.Valid; ListValue.MovePrev(ref c)) result.Add(Encoding.UTF8.GetString(c.Value()));
        result.Reverse();
        return result;
    }

    /// <summary>Counts add up, nodes are non-empty and within bounds (a lone oversized element aside),
    /// links are consistent, and the memory counter matches the nodes.</summary>
    private static void CheckInvariants(ListValue* l, int fill)
    {
        ListValue.Limits(fill, out int maxBytes, out int maxCount);
        long count = 0, nodes = 0, bytes = 0;
        ListNode* prev = null;
        for (ListNode* n = l->Head; n != null; n = n->Next)
        {
            Assert.That(n->Prev == prev, "prev link");
            Assert.That(n->Count, Is.GreaterThan(0), "empty node");
            Assert.That(n->Used, Is.LessThanOrEqualTo(n->Capacity));
            if (n->Count > 1)
            {
                Assert.That(n->Used, Is.LessThanOrEqualTo(maxBytes), "node over its byte bound");
                Assert.That(n->Count, Is.LessThanOrEqualTo(Math.Max(maxCount, 1)), "node over its element bound");
            }
            count += n->Count;
            nodes++;
            bytes += (long)SlabArena.RoundedSize((nuint)(sizeof(ListNode) + n->Capacity));
            prev = n;
        }
        Assert.That(l->Tail == prev, "tail");
        Assert.That(count, Is.EqualTo(l->Count));
        Assert.That(nodes, Is.EqualTo(l->NodeCount));
        Assert.That(bytes, Is.EqualTo(l->NodeBytes));
    }

    [TestCase(-2)]
    [TestCase(-1)]
    [TestCase(-5)]
    [TestCase(1)]
    [TestCase(4)]
    [TestCase(0)]
    public void RandomOperations_MatchAListModel(int fill)
    {
        using var arena = new SlabArena();
        var l = ListValue.Create(arena);
        var model = new List<string>();
        var rng = new Random(fill + 1000);
        string Element() => rng.Next(20) switch
        {
            0 => new string('x', rng.Next(100, 12000)), // larger than a node: a node of its own
            1 => "",
            _ => "e" + rng.Next(1000),
        };
        for (int step = 0; step < 4000; step++)
        {
            switch (rng.Next(9))
            {
                case 0:
                case 1:
                {
                    string v = Element();
                    bool head = rng.Next(2) == 0;
                    ListValue.Push(arena, l, B(v), head, fill);
                    if (head) model.Insert(0, v); else model.Add(v);
                    break;
                }
                case 2 when model.Count > 0:
                {
                    bool head = rng.Next(2) == 0;
                    int n = rng.Next(1, Math.Min(model.Count, 5) + 1);
                    if (head)
                    {
                        ListValue.TrimHead(arena, l, n);
                        model.RemoveRange(0, n);
                    }
                    else
                    {
                        ListValue.TrimTail(arena, l, n);
                        model.RemoveRange(model.Count - n, n);
                    }
                    break;
                }
                case 3 when model.Count > 0:
                {
                    int i = rng.Next(model.Count);
                    Assert.That(Encoding.UTF8.GetString(ListValue.Seek(l, i).Value()), Is.EqualTo(model[i]));
                    break;
                }
                case 4 when model.Count > 0:
                {
                    int i = rng.Next(model.Count);
                    bool after = rng.Next(2) == 0;
                    string v = Element();
                    ListValue.InsertAt(arena, l, ListValue.Seek(l, i), B(v), after, fill);
                    model.Insert(after ? i + 1 : i, v);
                    break;
                }
                case 5 when model.Count > 0:
                {
                    int i = rng.Next(model.Count);
                    string v = Element();
                    ListValue.ReplaceAt(arena, l, ListValue.Seek(l, i), B(v), fill);
                    model[i] = v;
                    break;
                }
                case 6 when model.Count > 0:
                {
                    int i = rng.Next(model.Count);
                    bool forward = rng.Next(2) == 0;
                    var c = ListValue.Seek(l, i);
                    ListValue.DeleteAt(arena, l, ref c, forward);
                    model.RemoveAt(i);
                    int expected = forward ? i : i - 1;
                    if (expected >= 0 && expected < model.Count)
                        Assert.That(Encoding.UTF8.GetString(c.Value()), Is.EqualTo(model[expected]), "cursor after delete");
                    else
                        Assert.That(c.Valid, Is.False, "cursor after deleting an end element");
                    break;
                }
                default:
                {
                    string v = Element();
                    ListValue.Push(arena, l, B(v), head: false, fill);
                    model.Add(v);
                    break;
                }
            }
            if (step % 50 == 0)
            {
                CheckInvariants(l, fill);
                Assert.That(Contents(l), Is.EqualTo(model));
                Assert.That(ContentsBackwards(l), Is.EqualTo(model));
            }
        }
        CheckInvariants(l, fill);
        Assert.That(Contents(l), Is.EqualTo(model));
        ListValue.Free(arena, l);
        Assert.That(arena.LiveBytes, Is.Zero, "every byte back to the arena");
    }

    [Test]
    public void HundredThousandElements_PushPopSeekAndMemory()
    {
        using var arena = new SlabArena();
        var l = ListValue.Create(arena);
        const int N = 100_000;
        for (int i = 0; i < N; i++) ListValue.Push(arena, l, B("v" + i), head: false, fill: -2);
        Assert.That(l->Count, Is.EqualTo(N));
        Assert.That(l->NodeCount, Is.GreaterThan(50), "8 KiB nodes: a long list spans many nodes");
        CheckInvariants(l, -2);
        Assert.That(ListValue.SizeOf(l), Is.EqualTo(arena.LiveBytes), "the size hook counts exactly what the arena holds");
        foreach (int i in new[] { 0, 1, 4999, 50_000, 77_777, N - 2, N - 1 })
            Assert.That(Encoding.UTF8.GetString(ListValue.Seek(l, i).Value()), Is.EqualTo("v" + i));
        // Packed: well under 16 bytes per ~6-byte element including node headers.
        Assert.That(arena.LiveBytes, Is.LessThan(N * 16L));
        for (int i = 0; i < N / 2; i++) ListValue.TrimHead(arena, l, 1);
        Assert.That(Encoding.UTF8.GetString(ListValue.First(l).Value()), Is.EqualTo("v" + N / 2));
        ListValue.TrimTail(arena, l, N / 2 - 1);
        Assert.That(l->Count, Is.EqualTo(1));
        Assert.That(l->NodeCount, Is.EqualTo(1));
        ListValue.Free(arena, l);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void LargeElement_GetsItsOwnNode_AndIsCounted()
    {
        using var arena = new SlabArena();
        var l = ListValue.Create(arena);
        ListValue.Push(arena, l, B("a"), head: false, fill: -2);
        var big = new string('z', 200_000);
        ListValue.Push(arena, l, B(big), head: false, fill: -2);
        ListValue.Push(arena, l, B("b"), head: false, fill: -2);
        Assert.That(l->NodeCount, Is.EqualTo(3));
        Assert.That(Contents(l), Is.EqualTo(new[] { "a", big, "b" }));
        Assert.That(arena.AllocatedBytes, Is.GreaterThan(200_000), "the large node is in the arena's count");
        var c = ListValue.Seek(l, 1);
        ListValue.DeleteAt(arena, l, ref c, forward: true);
        Assert.That(Contents(l), Is.EqualTo(new[] { "a", "b" }));
        ListValue.Free(arena, l);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [Test]
    public void Clone_IsADeepCopyInAnotherArena()
    {
        using var a = new SlabArena();
        using var b = new SlabArena();
        var l = ListValue.Create(a);
        for (int i = 0; i < 5000; i++) ListValue.Push(a, l, B("x" + i), head: i % 2 == 0, fill: -1);
        var copy = ListValue.Clone(b, l);
        Assert.That(Contents(copy), Is.EqualTo(Contents(l)));
        CheckInvariants(copy, -1);
        ListValue.TrimHead(a, l, 10);
        Assert.That(copy->Count, Is.EqualTo(5000), "independent of the original");
        ListValue.Free(a, l);
        Assert.That(Contents(copy).Count, Is.EqualTo(5000));
        ListValue.Free(b, copy);
        Assert.That(a.LiveBytes + b.LiveBytes, Is.Zero);
    }

    [Test]
    public void InsertIntoFullNode_SplitsIt()
    {
        using var arena = new SlabArena();
        var l = ListValue.Create(arena);
        for (int i = 0; i < 8; i++) ListValue.Push(arena, l, B("n" + i), head: false, fill: 4);
        Assert.That(l->NodeCount, Is.EqualTo(2));
        ListValue.InsertAt(arena, l, ListValue.Seek(l, 1), B("mid"), after: true, fill: 4);
        CheckInvariants(l, 4);
        Assert.That(Contents(l), Is.EqualTo(new[] { "n0", "n1", "mid", "n2", "n3", "n4", "n5", "n6", "n7" }));
        Assert.That(l->NodeCount, Is.EqualTo(3));
        ListValue.Free(arena, l);
        Assert.That(arena.LiveBytes, Is.Zero);
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(127)]
    [TestCase(128)]
    [TestCase(16383)]
    [TestCase(16384)]
    [TestCase(2_100_000)]
    public void PackedEntries_RoundTripAtVarintBoundaries(int length)
    {
        var value = new byte[length];
        new Random(length).NextBytes(value);
        var buf = new byte[Packed.ListEntrySize(length) + 8];
        fixed (byte* p = buf)
        {
            int size = Packed.WriteListEntry(p, value);
            Assert.That(size, Is.EqualTo(Packed.ListEntrySize(length)));
            var read = Packed.ReadListEntry(p, out int readSize);
            Assert.That(readSize, Is.EqualTo(size));
            Assert.That(read.SequenceEqual(value));
            Assert.That(Packed.PrevListEntrySize(p + size), Is.EqualTo(size), "the reverse length finds the entry's start");
        }
    }
}
