// MEMORY USAGE/STATS/DOCTOR/MALLOC-STATS/PURGE (Redis's object.c memoryCommand). Figures come from the
// arenas' exact counters: an entry's size class, its share of the index, its TTL slot, and the structure
// behind an aggregate value.
using System.Globalization;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;

namespace NativeKv.Engine.Commands;

public static unsafe class MemoryCommands
{
    public static readonly CommandDef[] Rows =
    [
        CommandTable.Parent("memory", -2, CommandFlags.None, "server", "A container for memory diagnostics commands.",
            CommandTable.Row("memory|usage", -3, CommandFlags.ReadOnly, 2, 2, 1, &Usage, "server", "Estimates the memory usage of a key.", "4.0.0"),
            CommandTable.Row("memory|stats", 2, CommandFlags.None, 0, 0, 0, &Stats, "server", "Returns details about memory usage.", "4.0.0"),
            CommandTable.Row("memory|doctor", 2, CommandFlags.None, 0, 0, 0, &Doctor, "server", "Outputs a memory problems report.", "4.0.0"),
            CommandTable.Row("memory|malloc-stats", 2, CommandFlags.None, 0, 0, 0, &MallocStats, "server", "Returns the allocator statistics.", "4.0.0"),
            CommandTable.Row("memory|purge", 2, CommandFlags.None, 0, 0, 0, &Purge, "server", "Asks the allocator to release memory.", "4.0.0")),
    ];

    /// <summary>Bytes a key costs: its entry's size class, its index slot, its TTL slot, its structure.</summary>
    public static long KeyUsage(Shard shard, Entry* e)
    {
        long bytes = (long)SlabArena.RoundedSize(Entry.AllocationSize(e->KeyLength, e->ValueLength));
        bytes += sizeof(uint); // bucket slot (a handle)
        if (e->ExpireSlot >= 0) bytes += sizeof(Shard.ExpireRef);
        var size = ValueTypeHooks.Size[(int)e->Type];
        if (size != null) bytes += size(e);
        return bytes;
    }

    // MEMORY USAGE key [SAMPLES count]
    static void Usage(ref CommandContext c)
    {
        for (int j = 3; j < c.Argc; j++)
        {
            if (c.ArgIs(j, "SAMPLES"u8) && j + 1 < c.Argc)
            {
                if (!c.TryArgInt64OrReply(++j, out long samples)) return;
                if (samples < 0)
                {
                    c.Reply.WriteError(Errors.Syntax);
                    return;
                }
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        var key = c.Arg(2);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = shard.Lookup(key, h, c.NowMs);
            if (e == null) c.Reply.WriteNull();
            else c.Reply.WriteInteger(KeyUsage(shard, e));
        }
    }

    // MEMORY STATS
    static void Stats(ref CommandContext c)
    {
        var s = c.Server;
        long used = s.UsedMemory;
        long keys = 0, tables = 0;
        foreach (var db in c.Store.Databases)
        {
            keys += db.Count;
            foreach (var shard in db.Shards) tables += shard.OverheadBytes;
        }
        long buffers = MemoryCounters.BufferBytes;
        long dataset = used - buffers - tables;
        long pages = MemoryCounters.PageBytes;
        long rss = OsMemory.ResidentBytes();
        var inv = CultureInfo.InvariantCulture;
        var w = c.Reply;
        int at = w.BeginDeferredArray();
        int fields = 0;
        void Int(string name, long v) { w.WriteBulk(name); w.WriteInteger(v); fields++; }
        void Dbl(string name, double v) { w.WriteBulk(name); w.WriteDouble(v); fields++; }
        Int("peak.allocated", s.PeakMemory);
        Int("total.allocated", used);
        Int("startup.allocated", 0);
        Int("replication.backlog", 0);
        Int("clients.slaves", 0);
        Int("clients.normal", buffers);
        Int("cluster.links", 0);
        Int("aof.buffer", 0);
        Int("lua.caches", 0);
        Int("functions.caches", 0);
        Int("overhead.total", buffers + tables);
        Int("keys.count", keys);
        Int("keys.bytes-per-key", keys == 0 ? 0 : (used - buffers) / keys);
        Int("dataset.bytes", dataset);
        Dbl("dataset.percentage", used == 0 ? 0 : 100.0 * dataset / used);
        Dbl("peak.percentage", s.PeakMemory == 0 ? 0 : 100.0 * used / s.PeakMemory);
        Int("allocator.allocated", pages + tables + buffers);
        Int("allocator.active", pages + tables + buffers);
        Int("allocator.resident", rss);
        Dbl("allocator-fragmentation.ratio", used == 0 ? 0 : (double)(pages + tables + buffers) / used);
        Int("allocator-fragmentation.bytes", pages + tables + buffers - used);
        Dbl("fragmentation", used == 0 ? 0 : (double)rss / used);
        Int("fragmentation.bytes", rss - used);
        w.EndDeferredArray(at, fields * (w.Resp3 ? 1 : 2), w.Resp3 ? (byte)'%' : (byte)'*');
        _ = inv;
    }

    // MEMORY DOCTOR
    static void Doctor(ref CommandContext c)
    {
        long used = c.Server.UsedMemory;
        long rss = OsMemory.ResidentBytes();
        string text = used < 5 * 1024 * 1024
            ? "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
            : rss > used * 3 / 2
                ? $"Sam, I detected a few issues in this NativeKv instance memory implants:\n\n * High fragmentation: RSS is {rss} bytes for {used} bytes of data. MEMORY PURGE gives free pages back to the OS.\n"
                : "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
        c.Reply.WriteVerbatim(text); // RESP3: a verbatim string, as Redis's addReplyVerbatim
    }

    // MEMORY MALLOC-STATS
    static void MallocStats(ref CommandContext c) => c.Reply.WriteBulk(string.Create(CultureInfo.InvariantCulture,
        $"nativekv slab arenas: pages+large={MemoryCounters.PageBytes} live={MemoryCounters.KeyspaceBytes} buffers={MemoryCounters.BufferBytes} rss={OsMemory.ResidentBytes()}"));

    // MEMORY PURGE
    static void Purge(ref CommandContext c)
    {
        OsMemory.Trim();
        c.Reply.WriteOk();
    }
}
