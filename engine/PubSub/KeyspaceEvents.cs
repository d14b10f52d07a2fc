// Keyspace notifications (Redis's notify.c): a command that changes a key publishes the event to
// __keyspace@<db>__:<key> (message: the event name) and __keyevent@<db>__:<event> (message: the key),
// for the classes enabled by notify-keyspace-events. Handlers call Notify after the change; with the
// parameter empty (the default) that is one static field test.
using System.Runtime.CompilerServices;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Protocol;

namespace NativeKv.Engine.PubSub;

public static class KeyspaceEvents
{
    // Redis's NOTIFY_* bits.
    public const int Keyspace = 1 << 0;   // K
    public const int Keyevent = 1 << 1;   // E
    public const int Generic = 1 << 2;    // g
    public const int String = 1 << 3;     // $
    public const int List = 1 << 4;       // l
    public const int Set = 1 << 5;        // s
    public const int Hash = 1 << 6;       // h
    public const int ZSet = 1 << 7;       // z
    public const int Expired = 1 << 8;    // x
    public const int Evicted = 1 << 9;    // e
    public const int Stream = 1 << 10;    // t
    public const int KeyMiss = 1 << 11;   // m (not part of A)
    public const int Module = 1 << 12;    // d
    public const int New = 1 << 13;       // n (not part of A)
    public const int All = Generic | String | List | Set | Hash | ZSet | Expired | Evicted | Stream | Module;

    /// <summary>The classes in force (notify-keyspace-events); 0 = off.</summary>
    public static int Flags;

    /// <summary>Where events are published (the server's hub; set by ServerState).</summary>
    public static PubSubHub? Hub;

    /// <summary>Redis's keyspaceEventsStringToFlags; -1 for an unknown character.</summary>
    public static int Parse(string s)
    {
        int flags = 0;
        foreach (char ch in s)
        {
            flags |= ch switch
            {
                'A' => All,
                'g' => Generic,
                '$' => String,
                'l' => List,
                's' => Set,
                'h' => Hash,
                'z' => ZSet,
                'x' => Expired,
                'e' => Evicted,
                'K' => Keyspace,
                'E' => Keyevent,
                't' => Stream,
                'm' => KeyMiss,
                'd' => Module,
                'n' => New,
                _ => -1,
            };
            if (flags == -1) return -1;
        }
        return flags;
    }

    /// <summary>Redis's keyspaceEventsFlagsToString (what CONFIG GET shows).</summary>
    public static string Format(int flags)
    {
        var sb = new System.Text.StringBuilder();
        if ((flags & All) == All) sb.Append('A');
        else
        {
            if ((flags & Generic) != 0) sb.Append('g');
            if ((flags & String) != 0) sb.Append('$');
            if ((flags & List) != 0) sb.Append('l');
            if ((flags & Set) != 0) sb.Append('s');
            if ((flags & Hash) != 0) sb.Append('h');
            if ((flags & ZSet) != 0) sb.Append('z');
            if ((flags & Expired) != 0) sb.Append('x');
            if ((flags & Evicted) != 0) sb.Append('e');
            if ((flags & Stream) != 0) sb.Append('t');
            if ((flags & Module) != 0) sb.Append('d');
            if ((flags & New) != 0) sb.Append('n');
        }
        if ((flags & Keyspace) != 0) sb.Append('K');
        if ((flags & Keyevent) != 0) sb.Append('E');
        if ((flags & KeyMiss) != 0) sb.Append('m');
        return sb.ToString();
    }

    /// <summary>A command's event on <paramref name="key"/> (call after the change).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Notify(ref CommandContext c, int type, ReadOnlySpan<byte> evt, ReadOnlySpan<byte> key)
    {
        if ((Flags & type) != 0) Emit(type, evt, key, c.Client.Db, c.Client, c.Reply);
    }

    /// <summary>The "new" event: a command created <paramref name="key"/> (Redis's dbAdd), before its own event.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NotifyNew(ref CommandContext c, ReadOnlySpan<byte> key)
    {
        if ((Flags & New) != 0) Emit(New, "new"u8, key, c.Client.Db, c.Client, c.Reply);
    }

    /// <summary>A command's event on a key of another database (MOVE, COPY ... DB).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Notify(ref CommandContext c, int type, ReadOnlySpan<byte> evt, ReadOnlySpan<byte> key, int db)
    {
        if ((Flags & type) != 0) Emit(type, evt, key, db, c.Client, c.Reply);
    }

    /// <summary>An event not caused by a command's own reply stream (expiry, eviction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Notify(int type, ReadOnlySpan<byte> evt, ReadOnlySpan<byte> key, int db)
    {
        if ((Flags & type) != 0) Emit(type, evt, key, db, null, null);
    }

    [ThreadStatic] static byte[]? t_channel;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Emit(int type, ReadOnlySpan<byte> evt, ReadOnlySpan<byte> key, int db, ClientState? self, RespWriter? selfReply)
    {
        int flags = Flags;
        var hub = Hub;
        if (hub == null || (flags & type) == 0) return;
        if ((flags & Keyspace) != 0)
        {
            int n = Channel("__keyspace@"u8, db, key);
            hub.Publish(new ReadOnlySpan<byte>(t_channel, 0, n), evt, shard: false, self, selfReply);
        }
        if ((flags & Keyevent) != 0)
        {
            int n = Channel("__keyevent@"u8, db, evt);
            hub.Publish(new ReadOnlySpan<byte>(t_channel, 0, n), key, shard: false, self, selfReply);
        }
    }

    static int Channel(ReadOnlySpan<byte> prefix, int db, ReadOnlySpan<byte> suffix)
    {
        int need = prefix.Length + 20 + 3 + suffix.Length;
        var buf = t_channel;
        if (buf == null || buf.Length < need) t_channel = buf = new byte[Math.Max(need, 256)];
        prefix.CopyTo(buf);
        int n = prefix.Length;
        n += Numbers.FormatInt64(db, buf.AsSpan(n));
        "__:"u8.CopyTo(buf.AsSpan(n));
        n += 3;
        suffix.CopyTo(buf.AsSpan(n));
        return n + suffix.Length;
    }
}
