// Pub/Sub (Redis's pubsub.c): who listens to which channel, pattern and shard channel, and delivery of
// published messages to their push sinks. Also the MONITOR clients. One lock guards the registry; PUBLISH
// to a server with no subscriptions at all reads one counter and takes no lock.
//
// A message is encoded once per publish (per pattern for pmessage) into a thread-local scratch buffer and
// copied into each subscriber's queue; a RESP3 subscriber gets the same bytes with '>' instead of '*'.
// A subscriber that is the publishing client itself gets the message in its reply stream, before the
// command's own reply, as in Redis.
using System.Runtime.CompilerServices;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Protocol;

namespace NativeKv.Engine.PubSub;

/// <summary>One client's subscriptions (ClientState.PubSub), in the order they were made.</summary>
public sealed class PubSubClient
{
    public readonly HashSet<byte[]> Channels = new(ByteKeyComparer.Instance);
    public readonly HashSet<byte[]> Patterns = new(ByteKeyComparer.Instance);
    public readonly HashSet<byte[]> ShardChannels = new(ByteKeyComparer.Instance);

    /// <summary>Channels plus patterns: the count SUBSCRIBE/PSUBSCRIBE replies carry.</summary>
    public int Count => Channels.Count + Patterns.Count;
    public int Total => Channels.Count + Patterns.Count + ShardChannels.Count;
}

public sealed class ByteKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly ByteKeyComparer Instance = new();
    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
    public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);
    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);
    public int GetHashCode(ReadOnlySpan<byte> alternate)
    {
        var h = new HashCode();
        h.AddBytes(alternate);
        return h.ToHashCode();
    }
    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
}

public enum SubscriptionKind { Channel, Pattern, Shard }

public sealed unsafe class PubSubHub
{
    readonly Lock _lock = new();
    readonly Dictionary<byte[], List<ClientState>> _channels = new(ByteKeyComparer.Instance);
    readonly Dictionary<byte[], List<ClientState>> _patterns = new(ByteKeyComparer.Instance);
    readonly Dictionary<byte[], List<ClientState>> _shard = new(ByteKeyComparer.Instance);
    readonly Dictionary<byte[], List<ClientState>>.AlternateLookup<ReadOnlySpan<byte>> _channelLookup;
    readonly Dictionary<byte[], List<ClientState>>.AlternateLookup<ReadOnlySpan<byte>> _shardLookup;
    readonly List<ClientState> _monitors = [];

    /// <summary>Channels + patterns + shard channels with at least one subscriber (the PUBLISH fast path).</summary>
    int _active;

    /// <summary>Clients in MONITOR mode: the dispatcher feeds them only when this is not zero.</summary>
    public int MonitorCount;

    public PubSubHub()
    {
        _channelLookup = _channels.GetAlternateLookup<ReadOnlySpan<byte>>();
        _shardLookup = _shard.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int ChannelCount { get { lock (_lock) return _channels.Count; } }
    public int PatternCount { get { lock (_lock) return _patterns.Count; } }
    public int ShardChannelCount { get { lock (_lock) return _shard.Count; } }

    Dictionary<byte[], List<ClientState>> Map(SubscriptionKind kind) => kind switch
    {
        SubscriptionKind.Channel => _channels,
        SubscriptionKind.Pattern => _patterns,
        _ => _shard,
    };

    static HashSet<byte[]> Own(PubSubClient p, SubscriptionKind kind) => kind switch
    {
        SubscriptionKind.Channel => p.Channels,
        SubscriptionKind.Pattern => p.Patterns,
        _ => p.ShardChannels,
    };

    /// <summary>Subscribes; false if the client was subscribed already.</summary>
    public bool Subscribe(ClientState client, SubscriptionKind kind, ReadOnlySpan<byte> name)
    {
        var p = client.PubSub ??= new PubSubClient();
        var own = Own(p, kind);
        if (own.GetAlternateLookup<ReadOnlySpan<byte>>().Contains(name)) return false;
        byte[] key = name.ToArray();
        lock (_lock)
        {
            own.Add(key);
            var map = Map(kind);
            if (!map.TryGetValue(key, out var list))
            {
                map[key] = list = new List<ClientState>(1);
                Volatile.Write(ref _active, _active + 1);
            }
            list.Add(client);
        }
        client.InPubSub = true;
        UpdateCounts(client, p);
        return true;
    }

    /// <summary>Unsubscribes; false if the client was not subscribed.</summary>
    public bool Unsubscribe(ClientState client, SubscriptionKind kind, ReadOnlySpan<byte> name)
    {
        var p = client.PubSub;
        if (p == null) return false;
        var own = Own(p, kind);
        lock (_lock)
        {
            if (!own.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(name)) return false;
            var map = Map(kind);
            var lookup = map.GetAlternateLookup<ReadOnlySpan<byte>>();
            if (lookup.TryGetValue(name, out var list))
            {
                list.Remove(client);
                if (list.Count == 0)
                {
                    lookup.Remove(name);
                    Volatile.Write(ref _active, _active - 1);
                }
            }
        }
        client.InPubSub = p.Total > 0;
        UpdateCounts(client, p);
        return true;
    }

    /// <summary>CLIENT LIST's sub / psub / ssub.</summary>
    static void UpdateCounts(ClientState client, PubSubClient p)
    {
        client.SubscribedChannels = p.Channels.Count;
        client.SubscribedPatterns = p.Patterns.Count;
        client.SubscribedShardChannels = p.ShardChannels.Count;
    }

    /// <summary>The client's subscriptions of one kind, in order (UNSUBSCRIBE with no arguments).</summary>
    public static byte[][] Subscriptions(ClientState client, SubscriptionKind kind) =>
        client.PubSub == null ? [] : [.. Own(client.PubSub, kind)];

    /// <summary>Forgets a client that disconnects (or RESET): every subscription, and MONITOR.</summary>
    public void RemoveClient(ClientState client)
    {
        if (client.PubSub is { } p)
        {
            foreach (var kind in (ReadOnlySpan<SubscriptionKind>)[SubscriptionKind.Channel, SubscriptionKind.Pattern, SubscriptionKind.Shard])
                foreach (var name in Subscriptions(client, kind)) Unsubscribe(client, kind, name);
        }
        client.InPubSub = false;
        StopMonitor(client);
    }

    public void StartMonitor(ClientState client)
    {
        lock (_lock)
        {
            if (client.IsMonitor) return;
            client.IsMonitor = true;
            _monitors.Add(client);
            Volatile.Write(ref MonitorCount, _monitors.Count);
        }
    }

    public void StopMonitor(ClientState client)
    {
        if (!client.IsMonitor) return;
        lock (_lock)
        {
            client.IsMonitor = false;
            _monitors.Remove(client);
            Volatile.Write(ref MonitorCount, _monitors.Count);
        }
    }

    /// <summary>PUBSUB CHANNELS / SHARDCHANNELS: channels with subscribers, optionally matching a pattern.</summary>
    public List<byte[]> ActiveChannels(bool shard, ReadOnlySpan<byte> pattern, bool usePattern)
    {
        var result = new List<byte[]>();
        lock (_lock)
        {
            foreach (var name in (shard ? _shard : _channels).Keys)
                if (!usePattern || Glob.Match(pattern, name)) result.Add(name);
        }
        return result;
    }

    /// <summary>PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one channel (patterns not counted).</summary>
    public long SubscriberCount(ReadOnlySpan<byte> channel, bool shard)
    {
        lock (_lock) return (shard ? _shardLookup : _channelLookup).TryGetValue(channel, out var list) ? list.Count : 0;
    }

    // ---------------------------------------------------------------- publishing

    [ThreadStatic] static byte[]? t_scratch;

    /// <summary>PUBLISH / SPUBLISH: delivers to the channel's subscribers and (not for shard channels)
    /// to every matching pattern's; returns the number of receivers. <paramref name="self"/> and
    /// <paramref name="selfReply"/>: the publishing client, which gets its own copy inline.</summary>
    public long Publish(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, bool shard, ClientState? self, RespWriter? selfReply)
    {
        if (Volatile.Read(ref _active) == 0) return 0;
        // A script's message waits for the script to commit; its count is the receivers now.
        if (self != null && self.InScript && Scripting.ScriptTransaction.DeferOutOfBand(channel, message, shard ? (byte)1 : (byte)0))
            return CountReceivers(channel, shard);
        long receivers = 0;
        lock (_lock)
        {
            var lookup = shard ? _shardLookup : _channelLookup;
            if (lookup.TryGetValue(channel, out var list))
            {
                int n = Encode(shard ? "smessage"u8 : "message"u8, default, channel, message, withPattern: false);
                var bytes = new ReadOnlySpan<byte>(t_scratch, 0, n);
                foreach (var client in list) DeliverTo(client, bytes, self, selfReply);
                receivers += list.Count;
            }
            if (!shard && _patterns.Count > 0)
            {
                foreach (var (pattern, subs) in _patterns)
                {
                    if (!Glob.Match(pattern, channel)) continue;
                    int n = Encode("pmessage"u8, pattern, channel, message, withPattern: true);
                    var bytes = new ReadOnlySpan<byte>(t_scratch, 0, n);
                    foreach (var client in subs) DeliverTo(client, bytes, self, selfReply);
                    receivers += subs.Count;
                }
            }
        }
        return receivers;
    }

    long CountReceivers(ReadOnlySpan<byte> channel, bool shard)
    {
        lock (_lock)
        {
            long n = (shard ? _shardLookup : _channelLookup).TryGetValue(channel, out var list) ? list.Count : 0;
            if (!shard)
                foreach (var (pattern, subs) in _patterns)
                    if (Glob.Match(pattern, channel)) n += subs.Count;
            return n;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void DeliverTo(ClientState client, ReadOnlySpan<byte> bytes, ClientState? self, RespWriter? selfReply, bool push = true)
    {
        if (client == self && selfReply != null)
        {
            int at = selfReply.Length;
            selfReply.WriteRaw(bytes);
            if (push && selfReply.Resp3) selfReply.Pointer[at] = (byte)'>';
        }
        else client.Push?.Deliver(bytes, push && client.Protocol >= 3);
    }

    // ---------------------------------------------------------------- MONITOR

    static readonly byte[] Redacted = "(redacted)"u8.ToArray();

    /// <summary>Redis's replicationFeedMonitors: one line per executed command,
    /// <c>+1339518083.107412 [0 127.0.0.1:60866] "keys" "*"</c>. AUTH's arguments and HELLO's AUTH
    /// credentials are redacted.</summary>
    public void FeedMonitors(ref CommandContext c)
    {
        var buf = t_scratch ??= new byte[4096];
        int n = 0;
        long us = Clock.UnixUs();
        Put(ref buf, ref n, "+"u8);
        Span<byte> num = stackalloc byte[24];
        Put(ref buf, ref n, num[..Numbers.FormatInt64(us / 1_000_000, num)]);
        Put(ref buf, ref n, "."u8);
        long frac = us % 1_000_000;
        for (int d = 100_000; d >= 1; d /= 10) Put(ref buf, ref n, [(byte)('0' + frac / d % 10)]);
        Put(ref buf, ref n, " ["u8);
        Put(ref buf, ref n, num[..Numbers.FormatInt64(c.Client.Db, num)]);
        Put(ref buf, ref n, " "u8);
        if (c.Client.InScript) Put(ref buf, ref n, "lua"u8);
        else
        {
            string addr = c.Client.Address;
            Span<byte> a = stackalloc byte[addr.Length * 3];
            Put(ref buf, ref n, a[..System.Text.Encoding.UTF8.GetBytes(addr, a)]);
        }
        Put(ref buf, ref n, "]"u8);
        bool auth = c.Command.Name == "auth";
        bool hello = c.Command.Name == "hello";
        for (int i = 0; i < c.Argc; i++)
        {
            Put(ref buf, ref n, " "u8);
            bool redact = (auth && i > 0)
                || (hello && i >= 2 && (Ascii.EqualsIgnoreCase(c.Arg(i - 1), "AUTH"u8) || (i >= 3 && Ascii.EqualsIgnoreCase(c.Arg(i - 2), "AUTH"u8))));
            Repr(ref buf, ref n, redact ? Redacted : c.Arg(i));
        }
        Put(ref buf, ref n, "\r\n"u8);
        t_scratch = buf;
        var line = new ReadOnlySpan<byte>(buf, 0, n);
        if (c.Client.InScript && Scripting.ScriptTransaction.DeferOutOfBand(line, default, 2)) return;
        var scriptLines = t_scriptLines;
        lock (_lock)
        {
            foreach (var m in _monitors) DeliverTo(m, line, c.Client, c.Reply, push: false);
            if (scriptLines is { Count: > 0 })
                foreach (var l in scriptLines)
                    foreach (var m in _monitors) DeliverTo(m, l, c.Client, c.Reply, push: false);
        }
        scriptLines?.Clear();
    }

    /// <summary>The MONITOR lines of a script that committed on this thread: shown right after the
    /// line of the EVAL/FCALL that ran it (Redis shows the script's command first, then its calls).</summary>
    [ThreadStatic] static List<byte[]>? t_scriptLines;

    /// <summary>A MONITOR line noted by a script, kept until its EVAL's own line is fed.</summary>
    public void DeliverMonitorLine(byte[] line)
    {
        if (Volatile.Read(ref MonitorCount) != 0) (t_scriptLines ??= []).Add(line);
    }

    static void Put(ref byte[] buf, ref int n, ReadOnlySpan<byte> s)
    {
        if (n + s.Length > buf.Length) Array.Resize(ref buf, Math.Max(buf.Length * 2, n + s.Length));
        s.CopyTo(buf.AsSpan(n));
        n += s.Length;
    }

    /// <summary>Redis's sdscatrepr: a quoted string with C escapes, \xHH for unprintable bytes.</summary>
    static void Repr(ref byte[] buf, ref int n, ReadOnlySpan<byte> s)
    {
        Put(ref buf, ref n, "\""u8);
        Span<byte> hex = stackalloc byte[4];
        foreach (byte b in s)
        {
            switch (b)
            {
                case (byte)'\\': Put(ref buf, ref n, "\\\\"u8); break;
                case (byte)'"': Put(ref buf, ref n, "\\\""u8); break;
                case (byte)'\n': Put(ref buf, ref n, "\\n"u8); break;
                case (byte)'\r': Put(ref buf, ref n, "\\r"u8); break;
                case (byte)'\t': Put(ref buf, ref n, "\\t"u8); break;
                case 7: Put(ref buf, ref n, "\\a"u8); break;
                case 8: Put(ref buf, ref n, "\\b"u8); break;
                default:
                    if (b >= 0x20 && b <= 0x7e) Put(ref buf, ref n, [b]);
                    else
                    {
                        hex[0] = (byte)'\\';
                        hex[1] = (byte)'x';
                        hex[2] = (byte)"0123456789abcdef"[b >> 4];
                        hex[3] = (byte)"0123456789abcdef"[b & 15];
                        Put(ref buf, ref n, hex);
                    }
                    break;
            }
        }
        Put(ref buf, ref n, "\""u8);
    }

    /// <summary>Writes [kind, (pattern,) channel, message] as a RESP2 array into the scratch buffer.</summary>
    static int Encode(ReadOnlySpan<byte> kind, ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, bool withPattern)
    {
        int need = 16 + (kind.Length + 16) + (pattern.Length + 16) + (channel.Length + 16) + (message.Length + 16);
        var buf = t_scratch;
        if (buf == null || buf.Length < need) t_scratch = buf = new byte[Math.Max(need, 4096)];
        int n = 0;
        buf[n++] = (byte)'*';
        buf[n++] = withPattern ? (byte)'4' : (byte)'3';
        buf[n++] = (byte)'\r';
        buf[n++] = (byte)'\n';
        n = Bulk(buf, n, kind);
        if (withPattern) n = Bulk(buf, n, pattern);
        n = Bulk(buf, n, channel);
        n = Bulk(buf, n, message);
        return n;
    }

    static int Bulk(byte[] buf, int n, ReadOnlySpan<byte> s)
    {
        buf[n++] = (byte)'$';
        n += Numbers.FormatInt64(s.Length, buf.AsSpan(n));
        buf[n++] = (byte)'\r';
        buf[n++] = (byte)'\n';
        s.CopyTo(buf.AsSpan(n));
        n += s.Length;
        buf[n++] = (byte)'\r';
        buf[n++] = (byte)'\n';
        return n;
    }
}
