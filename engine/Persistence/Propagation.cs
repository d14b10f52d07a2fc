// What a write command leaves in the AOF (Redis's propagation: alsoPropagate/rewriteClientCommandVector).
//
// By default the command's own bytes: the RESP text it arrived in, still contiguous in the connection's
// receive buffer (CommandContext.Raw), copied once into the AOF buffer. A handler whose command is not
// deterministic or is relative to the clock replaces it: `var w = c.Propagate(3); w.WriteBulk(...)...`
// writes the command(s) to log instead (SET ... PXAT for SET EX, PEXPIREAT for EXPIRE, SET KEEPTTL for
// INCRBYFLOAT, DEL for GETDEL). Several Propagate calls log several commands as one MULTI/EXEC unit.
// The scratch writer is per thread: a handler runs on one thread, and the dispatcher consumes what it
// wrote right after the handler returns.
//
// AofUnit collects the commands of a unit (a transaction, a script, a command propagating several) with
// the database of each, so that they are appended together, wrapped in MULTI/EXEC, in one step.
using System.Runtime.InteropServices;
using NativeKv.Engine.Protocol;

namespace NativeKv.Engine.Persistence;

public static class Propagation
{
    [ThreadStatic] static RespWriter? t_scratch;
    [ThreadStatic] static int t_count;

    /// <summary>Starts one replacement command of <paramref name="argc"/> arguments; write them with
    /// WriteBulk on the returned writer.</summary>
    public static RespWriter Begin(int argc)
    {
        var w = t_scratch ??= new RespWriter(256);
        // Outside a write scope (a server without persistence) nobody consumes it: start afresh.
        if (t_count == 0 || !WriteScope.Active)
        {
            w.Clear();
            t_count = 0;
        }
        t_count++;
        w.WriteArrayHeader(argc);
        return w;
    }

    /// <summary>Replacement commands written by the current handler (0: log the command itself).</summary>
    public static int Count => t_count;

    /// <summary>The replacement commands, back to back.</summary>
    public static ReadOnlySpan<byte> Written => t_scratch!.Written;

    [ThreadStatic] static RespWriter? t_also;

    /// <summary>
    /// Starts an extra command to log after the running one (Redis's alsoPropagate), for changes a
    /// command makes on behalf of another client: the pop for a blocked client served by a push. Write
    /// the arguments with WriteBulk, then call <see cref="EndAlso"/> under the shard lock; give the
    /// returned LSN to the served client (ClientState.PendingLsn) before resuming it. A command that
    /// serves blocked clients must do so as its last change: the running command is logged at the
    /// first EndAlso, before the extra one.
    /// </summary>
    public static RespWriter BeginAlso(int argc)
    {
        var w = t_also ??= new RespWriter(256);
        w.Clear();
        w.WriteArrayHeader(argc);
        return w;
    }

    /// <summary>Logs the command built since <see cref="BeginAlso"/>; returns its LSN (0: not logged).</summary>
    public static long EndAlso(Keyspace.Shard shard, int db)
    {
        long lsn = shard.KeyEvents?.AlsoPropagate(shard, db, t_also!.Written) ?? 0;
        t_also!.Clear();
        t_also.TrimIfLarge();
        return lsn;
    }

    public static void Reset()
    {
        if (t_count == 0) return;
        t_count = 0;
        t_scratch!.Clear();
        t_scratch.TrimIfLarge();
    }

    /// <summary>Encodes a parsed command as RESP (for inline commands, which have no RESP bytes).</summary>
    public static unsafe ReadOnlySpan<byte> Encode(ArgList args)
    {
        var w = t_scratch ??= new RespWriter(256);
        w.Clear();
        w.WriteArrayHeader(args.Count);
        for (int i = 0; i < args.Count; i++) w.WriteBulk(args.Get(i));
        return w.Written;
    }
}

/// <summary>The commands of one MULTI/EXEC unit, each with its database, before they go to the AOF.</summary>
public unsafe sealed class AofUnit : IDisposable
{
    byte* _p;
    int _len, _cap;

    public int Count { get; private set; }

    /// <summary>Command bytes held (without the per-command headers).</summary>
    public long Bytes { get; private set; }

    public AofUnit()
    {
        _cap = 1024;
        _p = (byte*)NativeMemory.Alloc((nuint)_cap);
    }

    /// <summary>Adds one RESP command (or several back to back) run in database <paramref name="db"/>.</summary>
    public void Add(int db, ReadOnlySpan<byte> resp, int commands = 1)
    {
        int need = 12 + resp.Length;
        if (_len + need > _cap)
        {
            int cap = Math.Max(_cap * 2, _len + need);
            _p = (byte*)NativeMemory.Realloc(_p, (nuint)cap);
            _cap = cap;
        }
        *(int*)(_p + _len) = db;
        *(int*)(_p + _len + 4) = resp.Length;
        *(int*)(_p + _len + 8) = commands;
        resp.CopyTo(new Span<byte>(_p + _len + 12, resp.Length));
        _len += need;
        Count += commands;
        Bytes += resp.Length;
    }

    internal void ForEach(AofLog log)
    {
        for (int at = 0; at < _len;)
        {
            int db = *(int*)(_p + at);
            int len = *(int*)(_p + at + 4);
            log.UnitCommand(db, new ReadOnlySpan<byte>(_p + at + 12, len));
            at += 12 + len;
        }
    }

    public void Clear()
    {
        _len = 0;
        Count = 0;
        Bytes = 0;
        if (_cap > 1 << 20)
        {
            _p = (byte*)NativeMemory.Realloc(_p, 1024);
            _cap = 1024;
        }
    }

    public void Dispose()
    {
        if (_p != null) NativeMemory.Free(_p);
        _p = null;
    }
}
