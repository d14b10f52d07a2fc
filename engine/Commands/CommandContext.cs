// Everything a command handler receives: its arguments (slices of the receive buffer), the client, the
// reply writer, and the server state. Passed by reference through the command table's function pointers.
using System.Runtime.CompilerServices;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Protocol;

namespace NativeKv.Engine.Commands;

public unsafe ref struct CommandContext
{
    public readonly ServerState Server;
    public readonly ClientState Client;
    public readonly RespWriter Reply;
    public readonly ArgList Args;
    public CommandDef Command;
    long _now;

    /// <summary>The command's RESP bytes as received (contiguous in the receive buffer), logged to the
    /// AOF as they are unless the handler propagates something else; null for inline commands.</summary>
    public byte* Raw;
    public int RawLength;

    /// <summary>Changes this command made to the dataset (Redis's server.dirty increments): a write
    /// command is logged, and counts toward the `save` points, only when it is above zero.</summary>
    public long Dirty;

    public CommandContext(ServerState server, ClientState client, RespWriter reply, ArgList args)
    {
        Server = server;
        Client = client;
        Reply = reply;
        Args = args;
        Command = null!;
    }

    /// <summary>A context whose command time is already known (the connection reads the clock once
    /// per batch) and whose start timestamp is the previous command's end (one clock read per command
    /// for INFO commandstats instead of two). Either may be 0: then it is read when needed.</summary>
    public CommandContext(ServerState server, ClientState client, RespWriter reply, ArgList args, long nowMs, long timestamp)
        : this(server, client, reply, args)
    {
        _now = nowMs;
        Timestamp = timestamp;
    }

    /// <summary>In: when the command started (Stopwatch ticks; 0 = now). Out: when it ended.</summary>
    public long Timestamp;

    public readonly int Argc => Args.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ReadOnlySpan<byte> Arg(int i) => Args.Get(i);

    public readonly Database Db => Server.Store.Databases[Client.Db];

    public readonly Store Store => Server.Store;

    /// <summary>Fixes the command's time (a script's commands all see the time the script started, as in
    /// Redis 7, so that a key cannot expire halfway through a script).</summary>
    public void SetTime(long nowMs) => _now = nowMs;

    /// <summary>The command's time in Unix ms, read once per command (Redis's commandTimeSnapshot).</summary>
    public long NowMs
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _now != 0 ? _now : (_now = Clock.UnixMs());
    }

    /// <summary>True when argument <paramref name="i"/> equals <paramref name="word"/> (ASCII, any case).</summary>
    public readonly bool ArgIs(int i, ReadOnlySpan<byte> upperWord) => Ascii.EqualsIgnoreCase(Arg(i), upperWord);

    public readonly string ArgString(int i) => System.Text.Encoding.UTF8.GetString(Arg(i));

    /// <summary>Parses argument i as a Redis integer or replies "value is not an integer".</summary>
    public readonly bool TryArgInt64OrReply(int i, out long value)
    {
        if (Numbers.TryParseInt64(Arg(i), out value)) return true;
        Reply.WriteError(Errors.NotInteger);
        return false;
    }

    public readonly void WrongArity() => Reply.WriteError(Errors.WrongArity(Command.Name));

    /// <summary>
    /// Replaces what the AOF logs for this command with a command of <paramref name="argc"/> arguments,
    /// written with WriteBulk on the returned writer (Redis's rewriteClientCommandVector). Call it again
    /// to log several commands (they are logged as one MULTI/EXEC unit). Used for commands whose effect
    /// depends on the clock or on chance: SET EX becomes SET PXAT, EXPIRE becomes PEXPIREAT.
    /// </summary>
    public readonly RespWriter Propagate(int argc) => Persistence.Propagation.Begin(argc);

    /// <summary>Redis's checkAlreadyExpired: an absolute time in the past deletes the key instead of
    /// setting a TTL, except while loading (the log replays the rest of the key's history).</summary>
    public bool AlreadyExpired(long atMs) => atMs <= NowMs && !Server.Store.Loading;
}

public static class Ascii
{
    public static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
        System.Text.Ascii.EqualsIgnoreCase(a, b);
}
