// Prefetching the keys of a pipelined batch. At -P 64 SET with 100,000 keys, 24% of the server's samples
// sat on one load: the first byte of the key's entry, a cache miss per command, paid one after the other
// (perf/RESULTS.md). A connection that has more commands in its input than the one it just ran looks at
// the next few (Window) before it runs them: it parses each a second time (the real parser, in a scratch
// list), hashes its first argument as a key of the client's database, and starts loading that bucket;
// then, in a second pass, reads each bucket and starts loading its first entry. The misses then overlap
// instead of adding up. A guess that is wrong (an argument that is not a key, a SELECT in the batch, a
// key further down the chain) costs a useless load, never a wrong answer: nothing here changes state.
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
        var parser = new RespParser();
        int pos = 0, n = 0, seen = 0;
        uint last = 0;
        for (; seen < Window && pos < len; seen++)
        {
            if (parser.Parse(p + pos, len - pos, args, maxBulkLen, out int consumed) != ParseStatus.Complete) break;
            pos += consumed;
            parser.Reset();
            if (args.Count < 2) continue;
            ulong h = db.Hash(args.Get(1));
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
        return pos;
    }
}
