// Keyspace unit tests: the shard index through growth, incremental rehash and shrink; SCAN's guarantee
// across resizes; TTL bookkeeping; the slab arena's accounting and page return; 32-bit handles across
// page recycling and large blocks; the packed entry header (its size, long keys, the LRU list by handle).
using System.Text;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Protocol;
using NUnit.Framework;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Tests.Unit;

[TestFixture]
public unsafe class KeyspaceTests
{
    static byte[] K(int i) => Encoding.ASCII.GetBytes("key:" + i);

    static Entry* Put(Shard s, Database db, byte[] key, string value)
    {
        uint h = (uint)db.Hash(key);
        var v = Encoding.ASCII.GetBytes(value);
        Entry* e = s.Insert(key, h, ValueType.String, v.Length);
        v.CopyTo(Entry.Value(e));
        return e;
    }

    [Test]
    public void InsertFindDeleteThroughRehashes()
    {
        var db = new Database(0, 12345);
        var s = db.Shards[0];
        const int n = 50_000;
        for (int i = 0; i < n; i++) Put(s, db, K(i), "v" + i);
        Assert.That(s.Count, Is.EqualTo(n));
        for (int i = 0; i < n; i++)
        {
            Entry* e = s.Find(K(i), (uint)db.Hash(K(i)));
            Assert.That(e != null, $"key {i}");
            Assert.That(Encoding.ASCII.GetString(Entry.Value(e)), Is.EqualTo("v" + i));
        }
        for (int i = 0; i < n; i += 2) s.Delete(s.Find(K(i), (uint)db.Hash(K(i))));
        Assert.That(s.Count, Is.EqualTo(n / 2));
        for (int i = 0; i < n; i++)
            Assert.That(s.Find(K(i), (uint)db.Hash(K(i))) != null, Is.EqualTo(i % 2 == 1));
        s.Clear();
        Assert.That(s.Count, Is.EqualTo(0));
        Assert.That(s.Arena.AllocatedBytes, Is.EqualTo(0));
    }

    struct Collect : IEntryVisitor
    {
        public HashSet<string> Seen;
        public void Visit(Entry* e) => Seen.Add(Encoding.ASCII.GetString(Entry.Key(e)));
    }

    [Test]
    public void ScanReturnsEveryKeyPresentThroughoutDespiteResizes()
    {
        var db = new Database(0, 99);
        var s = db.Shards[0];
        for (int i = 0; i < 5_000; i++) Put(s, db, K(i), "x");
        var visitor = new Collect { Seen = new HashSet<string>() };
        ulong cursor = 0;
        int step = 0, added = 5_000;
        do
        {
            cursor = s.Scan(cursor, ref visitor);
            // Grow and shrink the table while scanning: keys 0..999 stay throughout.
            if (step % 3 == 0 && step < 300) for (int j = 0; j < 200; j++) Put(s, db, K(added++), "y");
            if (step % 7 == 0)
                for (int j = 1000; j < 5000 && s.Count > 2000; j += 3)
                {
                    Entry* e = s.Find(K(j), (uint)db.Hash(K(j)));
                    if (e != null) s.Delete(e);
                }
            step++;
        } while (cursor != 0);
        for (int i = 0; i < 1000; i++) Assert.That(visitor.Seen, Does.Contain("key:" + i));
        s.Clear();
    }

    [Test]
    public void TtlSlotsFollowDeletesAndMoves()
    {
        var db = new Database(0, 7);
        var s = db.Shards[0];
        var entries = new List<nint>();
        for (int i = 0; i < 100; i++)
        {
            Entry* e = Put(s, db, K(i), "v");
            s.SetExpire(e, 1000 + i);
            entries.Add((nint)e);
        }
        Assert.That(s.ExpiresCount, Is.EqualTo(100));
        s.Delete(s.Find(K(0), (uint)db.Hash(K(0))));
        Entry* moved = s.ResizeValue(s.Find(K(50), (uint)db.Hash(K(50))), 1000);
        Assert.That(s.GetExpire(moved), Is.EqualTo(1050));
        Assert.That(s.ExpiresCount, Is.EqualTo(99));
        for (int i = 1; i < 100; i++)
            Assert.That(s.GetExpire(s.Find(K(i), (uint)db.Hash(K(i)))), Is.EqualTo(1000 + i));
        var (sampled, expired) = s.ActiveExpireRound(nowMs: 2000, samples: 1000, new Random(1));
        Assert.That(expired, Is.GreaterThan(0));
        Assert.That(sampled, Is.GreaterThan(0));
        Assert.That(s.Lookup(K(5), (uint)db.Hash(K(5)), nowMs: 2000) == null);
        s.Clear();
    }

    [Test]
    public void ArenaCountsPagesAndReturnsEmptyOnes()
    {
        using var arena = new SlabArena();
        var blocks = new List<nint>();
        for (int i = 0; i < 10_000; i++) blocks.Add((nint)arena.Alloc(100));
        long full = arena.AllocatedBytes;
        Assert.That(full, Is.GreaterThanOrEqualTo(10_000 * 100));
        Assert.That(full, Is.LessThan(10_000 * 100 * 1.3 + SlabArena.PageSize));
        foreach (var b in blocks) arena.Free((void*)b, 100);
        Assert.That(arena.LiveBytes, Is.EqualTo(0));
        // The block table (8 bytes per page at the peak, here 32 slots) and the per-class page table (two
        // pointers per size class) stay with the warm page.
        long tables = 32 * 8 + 2 * SlabArena.ClassCount * 8;
        Assert.That(arena.AllocatedBytes, Is.LessThanOrEqualTo(SlabArena.PageSize + tables), "empty pages go back to the OS (one warm page may stay)");
        void* large = arena.Alloc(1_000_000);
        Assert.That(arena.AllocatedBytes, Is.GreaterThanOrEqualTo(1_000_000));
        arena.Free(large, 1_000_000);
        Assert.That(arena.AllocatedBytes, Is.LessThanOrEqualTo(SlabArena.PageSize + tables));
        arena.ReleaseAllPages();
        Assert.That(arena.AllocatedBytes, Is.EqualTo(0), "a released arena keeps no table");
        blocks.Clear();
        for (int i = 0; i < 1000; i++) blocks.Add((nint)arena.Alloc(24));
        Assert.That(arena.LiveBytes, Is.EqualTo(1000 * 24), "a released arena allocates again");
        foreach (var b in blocks) arena.Free((void*)b, 24);
    }

    [Test]
    public void AnArenaThatNeverAllocatedHoldsNoMemory()
    {
        // 16 databases of 64 shards: an arena that stores nothing must cost nothing (idle RSS).
        using var arena = new SlabArena();
        Assert.That(arena.AllocatedBytes, Is.EqualTo(0));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var arenas = new SlabArena[64];
        for (int i = 0; i < arenas.Length; i++) arenas[i] = new SlabArena();
        long perArena = (GC.GetAllocatedBytesForCurrentThread() - before) / arenas.Length;
        Assert.That(perArena, Is.LessThan(200), "managed bytes per empty arena");
        foreach (var a in arenas) a.Dispose();
    }

    [Test]
    public void SizeClassesAreAtMost12AndAHalfPercentApart()
    {
        nuint prev = SlabArena.RoundedSize(16);
        for (nuint size = 17; size <= SlabArena.MaxSmallSize; size++)
        {
            nuint r = SlabArena.RoundedSize(size);
            Assert.That(r, Is.GreaterThanOrEqualTo(size));
            // Classes are at most 1.125x apart, rounded up to the 8-byte granule.
            Assert.That((double)r, Is.LessThanOrEqualTo(Math.Max(size * 1.125, size + 8)), $"size {size} rounds to {r}");
            Assert.That(r, Is.GreaterThanOrEqualTo(prev));
            prev = r;
        }
    }

    [Test]
    public void HandlesResolveAcrossPageRecyclingAndLargeBlocks()
    {
        using var arena = new SlabArena();
        Assert.That(arena.Resolve(0) == null, "handle 0 is null, even in an arena without blocks");
        var rng = new Random(5);
        int[] sizes = [16, 56, 100, 1000, 16 * 1024, 16 * 1024 + 1, 100_000];
        var live = new Dictionary<nint, (uint Handle, int Size)>();
        void Check()
        {
            foreach (var (p, (h, size)) in live)
            {
                Assert.That((nint)arena.Resolve(h), Is.EqualTo(p), $"size {size}");
                Assert.That(SlabArena.HandleOf((void*)p, (nuint)size), Is.EqualTo(h));
                Assert.That(*(int*)p, Is.EqualTo(size), "block contents");
            }
        }
        // Fill, free most (pages go back and their indices are recycled), fill again.
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 20_000; i++)
            {
                int size = sizes[rng.Next(i % 50 == 0 ? sizes.Length : 4)];
                byte* p = (byte*)arena.Alloc((nuint)size);
                *(int*)p = size;
                uint h = SlabArena.HandleOf(p, (nuint)size);
                Assert.That(h, Is.Not.EqualTo(0u));
                live.Add((nint)p, (h, size));
            }
            Check();
            foreach (var p in live.Keys.Where(_ => rng.Next(10) != 0).ToList())
            {
                arena.Free((void*)p, (nuint)live[p].Size);
                live.Remove(p);
            }
            Check();
        }
        Assert.That(live.Values.Select(v => v.Handle).Distinct().Count(), Is.EqualTo(live.Count));
        // A large block that grows keeps its handle; one that shrinks below the largest class moves to a page.
        var large = live.First(kv => kv.Value.Size == 100_000);
        live.Remove(large.Key);
        byte* grown = (byte*)arena.Realloc((void*)large.Key, 100_000, 3_000_000);
        Assert.That(arena.Resolve(large.Value.Handle) == grown);
        Assert.That(*(int*)grown, Is.EqualTo(100_000));
        byte* shrunk = (byte*)arena.Realloc(grown, 3_000_000, 64);
        Assert.That(*(int*)shrunk, Is.EqualTo(100_000));
        Assert.That(arena.Resolve(SlabArena.HandleOf(shrunk, 64)) == shrunk);
        arena.Free(shrunk, 64);
        foreach (var (p, (_, size)) in live) arena.Free((void*)p, (nuint)size);
        Assert.That(arena.LiveBytes, Is.EqualTo(0));
        Assert.That(arena.AllocatedBytes, Is.LessThanOrEqualTo(SlabArena.PageSize * SlabArena.ClassCount), "one warm page per class at most; the block table goes with the last block");
    }

    [Test]
    public void SmallKeyFitsInA56ByteSlot()
    {
        // Issue 4: an 11-byte key with a 16-byte value (perf/memory.sh) costs 56 + a 4-byte bucket slot.
        Assert.That(sizeof(Entry), Is.EqualTo(29));
        Assert.That(SlabArena.RoundedSize(Entry.AllocationSize(11, 16)), Is.EqualTo((nuint)56));
        var db = new Database(0, 3);
        var s = db.Shards[0];
        for (int i = 0; i < 10_000; i++) Put(s, db, Encoding.ASCII.GetBytes($"key:{i:D7}"), new string('x', 16));
        Assert.That(s.Arena.LiveBytes, Is.EqualTo(56L * s.Count));
        while (s.Rehash(1000)) { } // the background cycle's job: one table again
        // Power-of-two tables that double when full: between 4 and 8 bytes of buckets per key.
        Assert.That((double)s.OverheadBytes / s.Count, Is.InRange(4, 8));
        s.Clear();
    }

    [TestCase(65_534)]
    [TestCase(65_535)]
    [TestCase(200_000)]
    public void LongKeysKeepTheirLengthAndValue(int length)
    {
        var db = new Database(0, 11);
        var s = db.Shards[0];
        var key = new byte[length];
        new Random(length).NextBytes(key);
        var twin = (byte[])key.Clone();
        twin[^1] ^= 1; // same length, same prefix: must not be confused
        Entry* e = Put(s, db, key, "value");
        Put(s, db, twin, "twin");
        for (int i = 0; i < 100; i++) Put(s, db, K(i), "v"); // rehashes move the long keys too
        e = s.Find(key, (uint)db.Hash(key));
        Assert.That(e != null);
        Assert.That(e->KeyLength, Is.EqualTo(length));
        Assert.That(Entry.Key(e).SequenceEqual(key));
        Assert.That(Encoding.ASCII.GetString(Entry.Value(e)), Is.EqualTo("value"));
        e = s.ResizeValue(e, 100_000);
        Assert.That(Entry.Key(e).SequenceEqual(key));
        Assert.That(Encoding.ASCII.GetString(Entry.Value(e)[..5]), Is.EqualTo("value"));
        s.Delete(e);
        Assert.That(s.Find(key, (uint)db.Hash(key)) == null);
        Entry* t = s.Find(twin, (uint)db.Hash(twin));
        Assert.That(Encoding.ASCII.GetString(Entry.Value(t)), Is.EqualTo("twin"));
        s.Clear();
    }

    [Test]
    public void TypeAndEncodingShareAByte()
    {
        var db = new Database(0, 13);
        var s = db.Shards[0];
        Entry* e = s.Insert("k"u8, (uint)db.Hash("k"u8), ValueType.ZSet, sizeof(nint));
        Assert.That(e->Type, Is.EqualTo(ValueType.ZSet));
        Assert.That(e->Encoding, Is.EqualTo(0));
        e->Encoding = 31;
        Assert.That(e->Type, Is.EqualTo(ValueType.ZSet));
        Assert.That(e->Encoding, Is.EqualTo(31));
        e->Type = ValueType.String;
        Assert.That(e->Encoding, Is.EqualTo(31));
        e->Encoding = 2;
        Assert.That(e->Type, Is.EqualTo(ValueType.String));
        Assert.That(e->Encoding, Is.EqualTo(2));
        s.Clear();
    }

    [Test]
    public void LruTailFollowsTouchesThroughMovesAndDeletes()
    {
        bool kept = Shard.LruOrderKept;
        Shard.LruOrderKept = true; // as under maxmemory with an LRU policy
        try
        {
            LruTailFollowsTouches();
        }
        finally
        {
            Shard.LruOrderKept = kept;
        }
    }

    [Test]
    public void WithoutAnLruPolicy_TouchOnlyStampsTheClock()
    {
        bool kept = Shard.LruOrderKept;
        Shard.LruOrderKept = false;
        try
        {
            var db = new Database(0, 17);
            var s = db.Shards[0];
            for (int i = 0; i < 10; i++) Put(s, db, K(i), "v");
            Entry* first = s.Find(K(0), (uint)db.Hash(K(0)));
            uint before = first->LruClock;
            first->LruClock = before - 5;
            s.Touch(first);
            Assert.That(first->LruClock, Is.EqualTo(before).Or.GreaterThan(before), "stamped (OBJECT IDLETIME)");
            Assert.That(Encoding.ASCII.GetString(Entry.Key(s.LruTail)), Is.EqualTo("key:0"), "not relinked: creation order");
            s.Clear();
        }
        finally
        {
            Shard.LruOrderKept = kept;
        }
    }

    void LruTailFollowsTouches()
    {
        var db = new Database(0, 17);
        var s = db.Shards[0];
        for (int i = 0; i < 2_000; i++) Put(s, db, K(i), "v");
        Entry* Find(int i) => s.Find(K(i), (uint)db.Hash(K(i)));
        Assert.That(Encoding.ASCII.GetString(Entry.Key(s.LruTail)), Is.EqualTo("key:0"));
        // Touch stamps the clock; an entry stamped in the same millisecond is not moved, so age them.
        for (int i = 0; i < 1_000; i++)
        {
            Entry* e = Find(i);
            e->LruClock--;
            s.Touch(e);
        }
        Assert.That(Encoding.ASCII.GetString(Entry.Key(s.LruTail)), Is.EqualTo("key:1000"));
        s.ResizeValue(Find(1000), 5_000); // moves to another size class (and a new handle)
        Assert.That(Encoding.ASCII.GetString(Entry.Key(s.LruTail)), Is.EqualTo("key:1000"));
        s.Delete(Find(1000));
        Assert.That(Encoding.ASCII.GetString(Entry.Key(s.LruTail)), Is.EqualTo("key:1001"));
        // Deleting from the tail, as eviction does: the untouched keys first, then the touched ones in order.
        var order = new List<string>();
        while (s.Count > 0)
        {
            Entry* tail = s.LruTail;
            order.Add(Encoding.ASCII.GetString(Entry.Key(tail)));
            s.Delete(tail);
        }
        Assert.That(order, Is.EqualTo(Enumerable.Range(1001, 999).Concat(Enumerable.Range(0, 1000)).Select(i => "key:" + i)));
    }

    [Test]
    public void HashIsSeededPerDatabaseSeed()
    {
        var a = new Database(0, 1);
        var b = new Database(0, 2);
        Assert.That(a.Hash("same"u8), Is.Not.EqualTo(b.Hash("same"u8)));
    }

    // ---- KeyPrefetch: looks ahead at a pipelined batch without changing anything ----

    static byte[] Resp(params string[] args)
    {
        var sb = new StringBuilder($"*{args.Length}\r\n");
        foreach (var a in args) sb.Append($"${a.Length}\r\n{a}\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    static int Prefetch(Database db, byte[] input, out bool useless)
    {
        fixed (byte* p = input) return KeyPrefetch.Commands(db, p, input.Length, 512L << 20, out useless);
    }

    [Test]
    public void KeyPrefetch_CoversOneWindowOfCompleteCommands_AndStopsAtAnIncompleteOne()
    {
        var db = new Database(0, 7);
        for (int i = 0; i < 100; i++) Put(db.ShardFor(db.Hash(K(i))), db, K(i), "v");
        var commands = Enumerable.Range(0, KeyPrefetch.Window + 4).Select(i => Resp("GET", "key:" + i)).ToArray();
        var all = commands.SelectMany(c => c).ToArray();
        int window = commands.Take(KeyPrefetch.Window).Sum(c => c.Length);
        Assert.That(Prefetch(db, all, out bool useless), Is.EqualTo(window));
        Assert.That(useless, Is.False, "distinct keys");

        // Two complete commands, then one cut short: only the two count.
        var cut = commands[0].Concat(commands[1]).Concat(commands[2].Take(commands[2].Length - 1)).ToArray();
        Assert.That(Prefetch(db, cut, out _), Is.EqualTo(commands[0].Length + commands[1].Length));
        Assert.That(Prefetch(db, commands[0].Take(5).ToArray(), out _), Is.EqualTo(0));

        // Inline commands and commands without a key argument are stepped over like the others.
        var mixed = Encoding.ASCII.GetBytes("GET key:1\r\nPING\r\n").Concat(Resp("GET", "key:2")).ToArray();
        Assert.That(Prefetch(db, mixed, out useless), Is.EqualTo(mixed.Length));
        Assert.That(useless, Is.False);

        // Nothing changed: every key still there, with its value.
        for (int i = 0; i < 100; i++)
        {
            var s = db.ShardFor(db.Hash(K(i)));
            Entry* e = s.Find(K(i), (uint)db.Hash(K(i)));
            Assert.That(e != null && Encoding.ASCII.GetString(Entry.Value(e)) == "v", $"key {i}");
        }
    }

    [Test]
    public void KeyPrefetch_ReportsOneHotKeyAsUseless()
    {
        var db = new Database(0, 7);
        var hot = Enumerable.Range(0, 8).SelectMany(i => Resp("LPUSH", "mylist", "x" + i)).ToArray();
        Prefetch(db, hot, out bool useless);
        Assert.That(useless, Is.True, "the same key eight times");
        var two = Enumerable.Range(0, 8).SelectMany(i => Resp("LPUSH", i % 2 == 0 ? "a" : "b", "x")).ToArray();
        Prefetch(db, two, out useless);
        Assert.That(useless, Is.False, "two keys in turn");
        Prefetch(db, Enumerable.Range(0, 8).SelectMany(_ => Resp("PING")).ToArray(), out useless);
        Assert.That(useless, Is.True, "no keys at all");
    }

    [Test]
    public void KeyPrefetch_OneHotSetHashOrSortedSet_PrefetchesItsMembersInstead()
    {
        using var server = new ServerState(new ServerConfig(), startCron: false);
        var client = new ClientState();
        using var reply = new RespWriter();
        using var args = new ArgList();
        string Run(params string[] command)
        {
            byte[] input = Resp(command);
            fixed (byte* p = input)
            {
                var parser = new RespParser();
                Assert.That(parser.Parse(p, input.Length, args, 512L << 20, out _), Is.EqualTo(ParseStatus.Complete));
                reply.Clear();
                var ctx = new CommandContext(server, client, reply, args);
                Dispatcher.Execute(ref ctx);
                return Encoding.ASCII.GetString(reply.Written);
            }
        }
        // Table forms (past the listpack/intset limits), and two values without member buckets.
        for (int i = 0; i < 600; i++)
        {
            Run("SADD", "set", "m" + i);
            Run("HSET", "hash", "f" + i, "v");
            Run("ZADD", "zset", i.ToString(), "m" + i);
        }
        Run("SADD", "intset", "1", "2", "3");
        Run("RPUSH", "list", "a");
        Assert.That(Run("OBJECT", "ENCODING", "set"), Does.Contain("hashtable"));
        Assert.That(Run("OBJECT", "ENCODING", "hash"), Does.Contain("hashtable"));
        Assert.That(Run("OBJECT", "ENCODING", "zset"), Does.Contain("skiplist"));
        var db = server.Store.Databases[0];

        byte[] Window(Func<int, string[]> command) => Enumerable.Range(0, 8).SelectMany(i => Resp(command(i))).ToArray();
        Prefetch(db, Window(i => ["SADD", "set", "m" + i * 7]), out bool useless);
        Assert.That(useless, Is.False, "a hot set in its table form: its members are prefetched");
        Prefetch(db, Window(i => ["HSET", "hash", "f" + i * 7, "w"]), out useless);
        Assert.That(useless, Is.False, "a hot hash");
        Prefetch(db, Window(i => ["ZADD", "zset", "5", "m" + i * 7]), out useless);
        Assert.That(useless, Is.False, "a hot sorted set");
        Prefetch(db, Window(i => ["SADD", "intset", i.ToString()]), out useless);
        Assert.That(useless, Is.True, "an intset has no member buckets");
        Prefetch(db, Window(i => ["RPUSH", "list", "x"]), out useless);
        Assert.That(useless, Is.True, "a list");
        Prefetch(db, Window(i => ["SADD", "nokey", "x"]), out useless);
        Assert.That(useless, Is.True, "a missing key");
        Prefetch(db, Window(i => ["SCARD", "set"]), out useless);
        Assert.That(useless, Is.True, "no member arguments");

        // Nothing changed.
        Assert.That(Run("SCARD", "set"), Is.EqualTo(":600\r\n"));
        Assert.That(Run("HLEN", "hash"), Is.EqualTo(":600\r\n"));
        Assert.That(Run("ZSCORE", "zset", "m7"), Is.EqualTo("$1\r\n7\r\n"));
        Assert.That(Run("HGET", "hash", "f7"), Is.EqualTo("$1\r\nv\r\n"));
        Assert.That(Run("LLEN", "list"), Is.EqualTo(":1\r\n"));

        // A held shard lock is not waited for.
        AssertPrefetchDoesNotWaitForLocks(db, Window(i => ["SADD", "set", "m" + i]));
    }

    [Test]
    public void KeyPrefetch_NeverWaitsForAShardLockAnotherThreadHolds()
    {
        var db = new Database(0, 7);
        for (int i = 0; i < 100; i++) Put(db.ShardFor(db.Hash(K(i))), db, K(i), "v");
        AssertPrefetchDoesNotWaitForLocks(db, Enumerable.Range(0, 8).SelectMany(i => Resp("GET", "key:" + i)).ToArray());
    }

    /// <summary>With every shard lock of the database held by another thread, KeyPrefetch still returns
    /// at once and covers the whole input.</summary>
    static void AssertPrefetchDoesNotWaitForLocks(Database db, byte[] input)
    {
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            db.LockAll();
            held.Set();
            release.Wait();
            db.UnlockAll();
        });
        holder.Start();
        held.Wait();
        try
        {
            var run = Task.Run(() => Prefetch(db, input, out _));
            Assert.That(run.Wait(TimeSpan.FromSeconds(5)), Is.True, "prefetching waited for a lock");
            Assert.That(run.Result, Is.EqualTo(input.Length));
        }
        finally
        {
            release.Set();
            holder.Join();
        }
    }
}
