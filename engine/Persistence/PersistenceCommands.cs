// Persistence commands (Redis's rdb.c, aof.c, cluster.c for DUMP/RESTORE): SAVE, BGSAVE, LASTSAVE,
// BGREWRITEAOF, DUMP, RESTORE. DUMP and RESTORE use the RDB value serialization with Redis's footer (RDB
// version, 2 bytes, and CRC-64, 8 bytes, little-endian), so payloads move between NativeKv and Redis.
using NativeKv.Engine.Commands;
using NativeKv.Engine.Keyspace;
using static NativeKv.Engine.Commands.CommandFlags;

namespace NativeKv.Engine.Persistence;

public static unsafe class PersistenceCommands
{
    public static readonly CommandDef[] Rows =
    [
        CommandTable.Row("save", 1, Admin | NoScript | NoMulti, 0, 0, 0, &Save, "server", "Synchronously saves the database(s) to disk."),
        CommandTable.Row("bgsave", -1, Admin | NoScript, 0, 0, 0, &BgSave, "server", "Asynchronously saves the database(s) to disk."),
        CommandTable.Row("lastsave", 1, Loading | Stale | Fast, 0, 0, 0, &LastSave, "server", "Returns the Unix timestamp of the last successful save to disk."),
        CommandTable.Row("bgrewriteaof", 1, Admin | NoScript, 0, 0, 0, &BgRewriteAof, "server", "Asynchronously rewrites the append-only file to disk."),
        CommandTable.Row("dump", 2, ReadOnly, 1, 1, 1, &Dump, "generic", "Returns a serialized representation of the value stored at a key.", "2.6.0"),
        CommandTable.Row("restore", -4, Write | DenyOom, 1, 1, 1, &Restore, "generic", "Creates a key from the serialized representation of a value.", "2.6.0"),
    ];

    [ThreadStatic] static RdbWriter? t_dump;

    static PersistenceManager? Manager(ref CommandContext c)
    {
        var p = c.Server.Persistence;
        if (p == null) c.Reply.WriteError("ERR persistence is not available in this server"u8);
        return p;
    }

    // SAVE
    public static void Save(ref CommandContext c)
    {
        var p = Manager(ref c);
        if (p == null) return;
        if (p.BgsaveInProgress)
        {
            c.Reply.WriteError("ERR Background save already in progress"u8);
            return;
        }
        // The snapshot is written on its own thread while this client waits (suspended): the I/O thread
        // that runs this handler goes on serving other connections, which keep running meanwhile (unlike
        // Redis, whose SAVE blocks the server; the file is the state at the moment SAVE started).
        var client = c.Client;
        client.Suspended = true;
        new Thread(() =>
        {
            string? error = p.SaveSync();
            var reply = client.Reply;
            if (reply != null)
            {
                if (error == null) reply.WriteOk();
                else reply.WriteError(error);
            }
            client.ResumeAfterSuspend();
        })
        { IsBackground = true, Name = "nativekv-save" }.Start();
    }

    // BGSAVE [SCHEDULE]
    public static void BgSave(ref CommandContext c)
    {
        bool schedule = false;
        if (c.Argc > 1)
        {
            if (c.Argc == 2 && c.ArgIs(1, "SCHEDULE"u8)) schedule = true;
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        var p = Manager(ref c);
        if (p == null) return;
        Status(ref c, p.Bgsave(schedule));
    }

    // LASTSAVE
    public static void LastSave(ref CommandContext c)
    {
        var p = c.Server.Persistence;
        c.Reply.WriteInteger(p?.LastSaveUnix ?? c.Server.StartedMs / 1000);
    }

    // BGREWRITEAOF
    public static void BgRewriteAof(ref CommandContext c)
    {
        var p = Manager(ref c);
        if (p == null) return;
        Status(ref c, p.BgRewriteAof());
    }

    static void Status(ref CommandContext c, string text)
    {
        if (text.StartsWith("ERR", StringComparison.Ordinal)) c.Reply.WriteError(text);
        else c.Reply.WriteSimpleString(System.Text.Encoding.ASCII.GetBytes(text));
    }

    // DUMP key
    public static void Dump(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteNull();
                return;
            }
            if (!RdbTypeHooks.Supported(e->Type))
            {
                c.Reply.WriteError("ERR DUMP is not supported for this type in this build"u8);
                return;
            }
            var w = t_dump ??= new RdbWriter(1024);
            w.Clear();
            w.Compress = c.Server.Config.RdbCompression;
            w.WriteDumpPayload(e);
            c.Reply.WriteBulk(w.Written);
            w.TrimTo(1 << 20);
        }
    }

    // RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
    public static void Restore(ref CommandContext c)
    {
        bool replace = false, absTtl = false;
        long idle = -1, freq = -1;
        for (int j = 4; j < c.Argc; j++)
        {
            int more = c.Argc - j - 1;
            if (c.ArgIs(j, "REPLACE"u8)) replace = true;
            else if (c.ArgIs(j, "ABSTTL"u8)) absTtl = true;
            else if (c.ArgIs(j, "IDLETIME"u8) && more >= 1 && freq == -1)
            {
                if (!c.TryArgInt64OrReply(j + 1, out idle)) return;
                if (idle < 0)
                {
                    c.Reply.WriteError("ERR Invalid IDLETIME value, must be >= 0"u8);
                    return;
                }
                j++;
            }
            else if (c.ArgIs(j, "FREQ"u8) && more >= 1 && idle == -1)
            {
                if (!c.TryArgInt64OrReply(j + 1, out freq)) return;
                if (freq < 0 || freq > 255)
                {
                    c.Reply.WriteError("ERR Invalid FREQ value, must be >= 0 and <= 255"u8);
                    return;
                }
                j++;
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        var key = c.Arg(1);
        var payload = c.Arg(3);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* existing = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (!replace && existing != null)
            {
                c.Reply.WriteError("BUSYKEY Target key name already exists."u8);
                return;
            }
            if (!c.TryArgInt64OrReply(2, out long ttl)) return;
            if (ttl < 0)
            {
                c.Reply.WriteError("ERR Invalid TTL value, must be >= 0"u8);
                return;
            }
            if (!RdbLoader.VerifyDumpPayload(payload))
            {
                c.Reply.WriteError("ERR DUMP payload version or checksum are wrong"u8);
                return;
            }
            if (RdbLoader.ValidateDumpPayload(payload) != null)
            {
                c.Reply.WriteError("ERR Bad data format"u8);
                return;
            }
            bool deleted = false;
            if (existing != null)
            {
                shard.Delete(existing);
                deleted = true;
            }
            if (ttl > 0 && !absTtl) ttl += c.NowMs;
            if (ttl > 0 && c.AlreadyExpired(ttl))
            {
                if (deleted)
                {
                    c.Dirty++;
                    var d = c.Propagate(2);
                    d.WriteBulk("DEL"u8);
                    d.WriteBulk(key);
                    PubSub.KeyspaceEvents.Notify(ref c, PubSub.KeyspaceEvents.Generic, "del"u8, key);
                }
                c.Reply.WriteOk();
                return;
            }
            Entry* e;
            try
            {
                e = RdbLoader.RestorePayload(shard, key, h, payload);
            }
            catch (RdbException)
            {
                c.Reply.WriteError("ERR Bad data format"u8);
                return;
            }
            if (e == null)
            {
                // An empty aggregate: Redis refuses those too.
                c.Reply.WriteError("ERR Bad data format"u8);
                return;
            }
            if (ttl > 0)
            {
                shard.SetExpire(e, ttl);
                if (!absTtl)
                {
                    // Logged with the absolute deadline (RESTORE ... ABSTTL), as Redis does.
                    var p = c.Propagate(c.Argc + 1);
                    p.WriteBulk(c.Arg(0));
                    p.WriteBulk(key);
                    p.WriteBulk(ttl);
                    for (int i = 3; i < c.Argc; i++) p.WriteBulk(c.Arg(i));
                    p.WriteBulk("ABSTTL"u8);
                }
            }
            RdbLoader.ApplyLruLfu(e, idle, (int)freq);
            c.Dirty++;
            PubSub.KeyspaceEvents.NotifyNew(ref c, key);
            PubSub.KeyspaceEvents.Notify(ref c, PubSub.KeyspaceEvents.Generic, "restore"u8, key);
            c.Reply.WriteOk();
        }
    }
}
