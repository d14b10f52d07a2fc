// Prefetching the keys of a pipelined batch. At -P 64 SET with 100,000 keys, 24% of the server's samples
// sat on one load: the first byte of the key's entry, a cache miss per command, paid one after the other
// (perf/RESULTS.md). A connection that has more than one command in its input looks at the next few
// (Window) before it runs them: it parses each a second time (the real parser, in a scratch list),
// hashes its first argument as a key of the client's database, and starts loading that bucket; then, in
// a second pass, reads each bucket and starts loading its first entry. The misses then overlap instead
// of adding up. A window that names a single key (a hot set, hash or sorted set) prefetches the
// members' buckets instead (Members). A guess that is wrong (an argument that is not a key, a SELECT in
// the batch, a key further down the chain) costs a useless load, never a wrong answer: nothing stored
// changes.
using System.Runtime.Intrinsics.X86;
using NativeKv.Engine.Protocol;

namespace NativeKv.Engine.Keyspace;

public static unsafe class KeyPrefetch
{
    /// <summary>Commands looked at per pass.</summary>
    public const int Window = 16;

    [ThreadStatic] static ArgList? t_args;
    [ThreadStatic] static Shard[]? t_shards;

    /// <summary>False where the CPU has no prefetch instruction we use: then nothing is looked at.</summary>
    public static bool Enabled => Sse.IsSupported;

    /// <summary>
    /// Prefetches the keys of the complete commands in <paramref name="p"/>[0..<paramref name="len"/>), at
    /// most <see cref="Window"/> of them; returns the bytes those commands take (where the next pass
    /// should start), 0 when not even one command is complete. <paramref name="useless"/> is set when
    /// several commands named at most one key between them (one hot key, such as a list a benchmark
    /// fills, or commands without keys, such as PING): prefetching is then only a cost, and the caller
    /// stops for a while.
    /// </summary>
    public static int Commands(Database db, byte* p, int len, long maxBulkLen, out bool useless)
    {
        var args = t_args ??= new ArgList();
        var shards = t_shards ??= new Shard[Window];
        uint* hashes = stackalloc uint[Window];
        // Where each command's third and last arguments are (in the input: the parser does not copy a
        // multibulk's arguments), for MemberPrefetch when all the commands name one key.
        var members = stackalloc MemberArgs[Window];
        int withMembers = 0;
        ulong firstKey = 0;
        byte* keyAt = null;
        int keyLength = 0;
        var parser = new RespParser();
        int pos = 0, n = 0, seen = 0;
        uint last = 0;
        for (; seen < Window && pos < len; seen++)
        {
            bool multibulk = p[pos] == (byte)'*';
            if (parser.Parse(p + pos, len - pos, args, maxBulkLen, out int consumed) != ParseStatus.Complete) break;
            pos += consumed;
            parser.Reset();
            if (args.Count < 2) continue;
            var key = args.Get(1);
            ulong h = db.Hash(key);
            if (n == 0 && multibulk)
            {
                firstKey = h;
                keyAt = args.Base + args.Items[1].Offset;
                keyLength = key.Length;
            }
            if (args.Count >= 3 && multibulk && h == firstKey && withMembers < Window)
            {
                members[withMembers].Third = args.Base + args.Items[2].Offset;
                members[withMembers].ThirdLength = args.Items[2].Length;
                members[withMembers].Last = args.Base + args.Items[args.Count - 1].Offset;
                members[withMembers].LastLength = args.Items[args.Count - 1].Length;
                withMembers++;
            }
            if (n > 0 && (uint)h == last) continue;
            last = (uint)h;
            var shard = db.ShardFor(h);
            shard.PrefetchBucket((uint)h);
            shards[n] = shard;
            hashes[n++] = (uint)h;
        }
        for (int i = 0; i < n; i++)
        {
            shards[i].PrefetchEntry(hashes[i]);
            shards[i] = null!;
        }
        args.Trim();
        useless = n <= 1 && seen >= 4;
        // One key over and over: a hot set, hash or sorted set gets its members prefetched instead.
        if (useless && n == 1 && withMembers >= 4 && keyAt != null)
            useless = !Members(db.ShardFor(firstKey), new ReadOnlySpan<byte>(keyAt, keyLength), (uint)firstKey, members, withMembers);
        return pos;
    }

    struct MemberArgs
    {
        public byte* Third, Last;
        public int ThirdLength, LastLength;
    }

    /// <summary>
    /// MemberPrefetch: the commands of a window all name one key (a pipeline of SADD myset, HSET myhash
    /// or ZADD myzset with random members, as redis-benchmark sends). If that key holds a set, a hash or
    /// a sorted set in its table form, the bucket of each command's member starts loading (the third
    /// argument for sets and hashes, the last for sorted sets: SADD key member, HSET key field value,
    /// ZADD key score member), then the first node of each bucket. Under the shard's lock, taken only if
    /// free (a busy lock counts as useful: the next window tries again). Returns false when the key
    /// holds nothing with member buckets (the caller then pauses the look-ahead as before). Like every
    /// lookup, the key's lookup may move one step of the shard's incremental rehash; nothing stored
    /// changes.
    /// </summary>
    static bool Members(Shard shard, ReadOnlySpan<byte> key, uint hash, MemberArgs* members, int count)
    {
        if (!shard.Lock.TryEnter()) return true;
        try
        {
            Entry* e = shard.Find(key, hash);
            if (e == null) return false;
            void** buckets;
            ulong mask;
            bool field = false, last = false;
            switch (e->Type)
            {
                case ValueType.Set:
                {
                    var s = Types.SetValue.Of(e);
                    if (s->Encoding != Types.SetValue.EncHashtable || s->Table.Size == 0) return false;
                    buckets = (void**)s->Table.Buckets;
                    mask = s->Table.Size - 1;
                    break;
                }
                case ValueType.ZSet:
                {
                    var z = Types.ZSetValue.Of(e);
                    if (z->Encoding != Types.ZSetValue.EncSkiplist || z->Dict.Size == 0) return false;
                    buckets = (void**)z->Dict.Buckets;
                    mask = z->Dict.Size - 1;
                    last = true;
                    break;
                }
                case ValueType.Hash:
                {
                    if (e->Encoding != Types.HashEncoding.Hashtable) return false;
                    var d = (Types.HashDict*)Entry.Object(e);
                    if (d->T0 == null) return false;
                    buckets = (void**)d->T0;
                    mask = (ulong)d->Size0 - 1;
                    field = true;
                    break;
                }
                default:
                    return false;
            }
            void*** slots = stackalloc void**[Window];
            for (int i = 0; i < count; i++)
            {
                var m = last ? new ReadOnlySpan<byte>(members[i].Last, members[i].LastLength)
                             : new ReadOnlySpan<byte>(members[i].Third, members[i].ThirdLength);
                ulong h = field ? Types.HashValue.HashField(m) : Types.MemberTable.HashOf(m);
                slots[i] = buckets + (h & mask);
                Sse.Prefetch0(slots[i]);
            }
            for (int i = 0; i < count; i++)
            {
                byte* node = (byte*)*slots[i];
                if (node == null) continue;
                Sse.Prefetch0(node);
                Sse.Prefetch0(node + 63);
            }
            return true;
        }
        finally
        {
            shard.Lock.Exit();
        }
    }
}
