// Loads an RDB stream into the keyspace (rdb.c's rdbLoadRioWithLoadingCtx) and restores DUMP payloads
// (RESTORE). Keys already expired are skipped when loading a snapshot, kept when loading an AOF base
// (the AOF tail may still touch them; expiry happens after loading, as in Redis). Duplicate keys, unknown
// types and checksum mismatches are errors that name the offset.
using System.Text;
using NativeKv.Engine.Keyspace;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Persistence;

public sealed class RdbLoadStats
{
    public int Version;
    public long Keys;
    public long ExpiredSkipped;
    public long EmptySkipped;
    public readonly List<(string Key, string Value)> Aux = new();
}

public static unsafe class RdbLoader
{
    /// <summary>
    /// Reads an RDB file from <paramref name="input"/> (positioned at "REDIS") up to and including its
    /// checksum. <paramref name="skipExpired"/>: drop keys whose TTL passed (snapshots, not AOF bases).
    /// </summary>
    public static RdbLoadStats Load(Store store, RdbInput input, bool skipExpired, bool verifyChecksum, Action<string>? warn = null)
    {
        using var r = new RdbReader(input);
        var stats = new RdbLoadStats();
        byte* magic = input.Take(9);
        var header = new ReadOnlySpan<byte>(magic, 9);
        if (!header[..5].SequenceEqual("REDIS"u8)) throw new RdbException("Wrong signature trying to load DB from file");
        if (!int.TryParse(Encoding.ASCII.GetString(header[5..]), out int version) || version < 1 || version > RdbFormat.MaxReadVersion)
            throw new RdbException($"Can't handle RDB format version {Encoding.ASCII.GetString(header[5..])}");
        stats.Version = version;
        long now = Clock.UnixMs();
        int dbIndex = 0;
        long expireAt = -1;
        long lruIdle = -1;
        int lfuFreq = -1;
        while (true)
        {
            byte type = input.ReadByte();
            switch (type)
            {
                case RdbFormat.OpExpireTime:
                    expireAt = r.ReadSecondTime() * 1000;
                    continue;
                case RdbFormat.OpExpireTimeMs:
                    expireAt = r.ReadMillisecondTime();
                    continue;
                case RdbFormat.OpFreq:
                    lfuFreq = input.ReadByte();
                    continue;
                case RdbFormat.OpIdle:
                    lruIdle = r.ReadLength();
                    continue;
                case RdbFormat.OpEof:
                    break;
                case RdbFormat.OpSelectDb:
                {
                    long db = r.ReadLength();
                    if (db >= store.Databases.Length)
                        throw new RdbException($"FATAL: Data file was created with a Redis server configured to handle more than {store.Databases.Length} databases. Exiting");
                    dbIndex = (int)db;
                    continue;
                }
                case RdbFormat.OpResizeDb:
                    r.ReadLength();
                    r.ReadLength();
                    continue;
                case RdbFormat.OpAux:
                {
                    string key = Encoding.UTF8.GetString(r.ReadString(r.KeyScratch));
                    string value = Encoding.UTF8.GetString(r.ReadString(r.KeyScratch));
                    stats.Aux.Add((key, value));
                    continue;
                }
                case RdbFormat.OpModuleAux:
                    throw new RdbException($"Module auxiliary data at offset {input.Position}: modules are not supported by NativeKv");
                case RdbFormat.OpFunction2:
                case RdbFormat.OpFunctionPreGa:
                    // Functions (FUNCTION LOAD libraries) are not part of NativeKv's dataset; skip the code.
                    if (type == RdbFormat.OpFunctionPreGa) throw new RdbException("Pre-release function format not supported");
                    r.SkipString();
                    warn?.Invoke("Skipping a FUNCTION library found in the RDB file: functions are not supported");
                    continue;
                default:
                    if (!RdbFormat.IsValueType(type)) throw new RdbException($"Unknown RDB opcode or type {type} at offset {input.Position - 1}");
                    LoadKey(store.Databases[dbIndex], r, type, expireAt, lruIdle, lfuFreq, skipExpired, now, stats);
                    expireAt = -1;
                    lruIdle = -1;
                    lfuFreq = -1;
                    continue;
            }
            break;
        }
        if (version >= 5)
        {
            ulong computed = input.Crc;
            ulong stored = *(ulong*)input.Take(8);
            if (verifyChecksum && stored != 0 && stored != computed)
                throw new RdbException($"Wrong RDB checksum expected: ({stored:x16}) got: ({computed:x16}). Aborting now.");
        }
        return stats;
    }

    static void LoadKey(Database db, RdbReader r, byte type, long expireAt, long lruIdle, int lfuFreq, bool skipExpired, long now, RdbLoadStats stats)
    {
        var key = r.ReadString(r.KeyScratch);
        ValueType vt = RdbTypeHooks.TypeOf(type);
        if (vt == ValueType.None) throw new RdbException($"Unsupported RDB value type {type} (stream or module) for key '{Printable(key)}'");
        if (!RdbTypeHooks.Supported(vt))
            throw new RdbException($"Key '{Printable(key)}' is a {KeyTypeName(vt)}, which this NativeKv build cannot load yet");
        bool skip = skipExpired && expireAt >= 0 && expireAt < now;
        var shard = db.ShardFor(key, out uint hash);
        using (shard.Lock.EnterScope())
        {
            if (!skip && shard.Find(key, hash) != null)
                throw new RdbException($"RDB has duplicated key '{Printable(key)}' in DB {db.Index}");
            Entry* e = ReadValue(shard, r, type, vt, key, hash, skip);
            if (skip)
            {
                stats.ExpiredSkipped++;
                return;
            }
            if (e == null)
            {
                stats.EmptySkipped++;
                return;
            }
            if (expireAt >= 0) shard.SetExpire(e, expireAt);
            ApplyLruLfu(e, lruIdle, lfuFreq);
            stats.Keys++;
        }
    }

    /// <summary>Reads one value into a new entry (null when skipped or empty).</summary>
    internal static Entry* ReadValue(Shard shard, RdbReader r, byte type, ValueType vt, ReadOnlySpan<byte> key, uint hash, bool skip)
    {
        if (vt == ValueType.String)
        {
            var h = r.ReadStringHeader();
            if (skip)
            {
                r.SkipStringBody(h);
                return null;
            }
            Entry* e = shard.Insert(key, hash, ValueType.String, (int)h.Length);
            try
            {
                r.ReadStringBody(h, Entry.ValueOf(e));
            }
            catch
            {
                shard.Delete(e);
                throw;
            }
            return e;
        }
        if (skip)
        {
            var discard = new DiscardSink();
            r.ReadAggregate(type, ref discard);
            return null;
        }
        fixed (byte* k = key)
        {
            var sink = new EntrySink(shard, k, key.Length, hash);
            try
            {
                r.ReadAggregate(type, ref sink);
            }
            catch
            {
                if (sink.Entry != null) shard.Delete(sink.Entry);
                throw;
            }
            if (sink.Entry != null && sink.Count == 0)
            {
                shard.Delete(sink.Entry);
                return null;
            }
            return sink.Entry;
        }
    }

    /// <summary>IDLE / FREQ opcodes (and RESTORE's IDLETIME / FREQ): the entry's recency or frequency.</summary>
    internal static void ApplyLruLfu(Entry* e, long lruIdle, int lfuFreq)
    {
        if (lfuFreq >= 0) e->Lfu = (byte)lfuFreq;
        if (lruIdle >= 0) e->LruClock = Clock.LruMs() - (uint)Math.Min(lruIdle * 1000, uint.MaxValue / 2);
    }

    static string KeyTypeName(ValueType t) => Encoding.ASCII.GetString(Commands.KeyAccess.TypeName(t));

    internal static string Printable(ReadOnlySpan<byte> key)
    {
        var s = Encoding.UTF8.GetString(key.Length > 128 ? key[..128] : key);
        return key.Length > 128 ? s + "..." : s;
    }

    /// <summary>Builds an aggregate entry through the type's hooks as elements arrive.</summary>
    struct EntrySink(Shard shard, byte* key, int keyLength, uint hash) : IRdbValueSink
    {
        public Entry* Entry;
        public long Count;

        public void Begin(ValueType type, long count)
        {
            if (Entry != null) return; // quicklists announce once, but be safe
            var e = shard.Insert(new ReadOnlySpan<byte>(key, keyLength), hash, type, sizeof(nint));
            Keyspace.Entry.Object(e) = 0;
            Entry = e;
            RdbTypeHooks.Create[(int)type](shard.Arena, e, count);
        }

        public bool Add(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, double score)
        {
            Count++;
            return RdbTypeHooks.Add[(int)Entry->Type](shard.Arena, Entry, a, b, score);
        }
    }

    /// <summary>Consumes a value without keeping it (expired keys, payload validation).</summary>
    struct DiscardSink : IRdbValueSink
    {
        public void Begin(ValueType type, long count) { }
        public bool Add(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, double score) => true;
    }

    // ---------------------------------------------------------------- DUMP / RESTORE payloads

    /// <summary>verifyDumpPayload: at least type + footer, version not newer than ours, CRC matching.</summary>
    public static bool VerifyDumpPayload(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 10) return false;
        var footer = payload[^10..];
        int version = footer[0] | footer[1] << 8;
        if (version > RdbFormat.Version) return false;
        ulong crc = Crc64.Compute(payload[..^8]);
        return crc == System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(footer[2..]);
    }

    /// <summary>Checks that a verified payload decodes (type known and loadable, value well formed)
    /// without creating anything. Returns null when fine, else the reason.</summary>
    public static string? ValidateDumpPayload(ReadOnlySpan<byte> payload)
    {
        fixed (byte* p = payload)
        {
            using var input = new RdbInput(p, payload.Length - 10);
            using var r = new RdbReader(input);
            try
            {
                byte type = input.ReadByte();
                ValueType vt = RdbTypeHooks.TypeOf(type);
                if (vt == ValueType.None || !RdbTypeHooks.Supported(vt)) return "unsupported type";
                if (vt == ValueType.String) r.SkipString();
                else
                {
                    var discard = new DiscardSink();
                    r.ReadAggregate(type, ref discard);
                }
                return null;
            }
            catch (RdbException e)
            {
                return e.Message;
            }
        }
    }

    /// <summary>Creates <paramref name="key"/> (known absent) from a validated payload.</summary>
    public static Entry* RestorePayload(Shard shard, ReadOnlySpan<byte> key, uint hash, ReadOnlySpan<byte> payload)
    {
        fixed (byte* p = payload)
        {
            using var input = new RdbInput(p, payload.Length - 10);
            using var r = new RdbReader(input);
            byte type = input.ReadByte();
            return ReadValue(shard, r, type, RdbTypeHooks.TypeOf(type), key, hash, skip: false);
        }
    }
}
