// SLOWLOG, LATENCY and DEBUG (Redis's slowlog.c, latency.c, debug.c). The state they read is in
// Introspection.cs; DEBUG offers the subset useful to tests and tools (SLEEP, OBJECT, SET-ACTIVE-EXPIRE,
// PROTOCOL, LOG, CHANGE-REPL-ID) and is refused unless enable-debug-command allows it, as in Redis 7.
using System.Globalization;
using System.Text;
using NativeKv.Engine.Keyspace;
using static NativeKv.Engine.Commands.CommandFlags;

namespace NativeKv.Engine.Commands;

public static unsafe class IntrospectionCommands
{
    public static readonly CommandDef[] Rows =
    [
        CommandTable.Parent("slowlog", -2, None, "server", "A container for slow log commands.",
            CommandTable.Row("slowlog|get", -2, Admin | Loading | Stale, 0, 0, 0, &SlowlogGet, "server", "Returns the slow log's entries.", "2.2.12"),
            CommandTable.Row("slowlog|len", 2, Admin | Loading | Stale, 0, 0, 0, &SlowlogLen, "server", "Returns the number of entries in the slow log.", "2.2.12"),
            CommandTable.Row("slowlog|reset", 2, Admin | Loading | Stale, 0, 0, 0, &SlowlogReset, "server", "Clears all entries from the slow log.", "2.2.12"),
            CommandTable.Row("slowlog|help", 2, Loading | Stale, 0, 0, 0, &SlowlogHelp, "server", "Show helpful text about the different subcommands", "6.2.0")),
        CommandTable.Parent("latency", -2, None, "server", "A container for latency diagnostics commands.",
            CommandTable.Row("latency|latest", 2, Admin | NoScript | Loading | Stale, 0, 0, 0, &LatencyLatest, "server", "Returns the latest latency samples for all events.", "2.8.13"),
            CommandTable.Row("latency|history", 3, Admin | NoScript | Loading | Stale, 0, 0, 0, &LatencyHistory, "server", "Returns timestamp-latency samples for an event.", "2.8.13"),
            CommandTable.Row("latency|reset", -2, Admin | NoScript | Loading | Stale, 0, 0, 0, &LatencyReset, "server", "Resets the latency data for one or more events.", "2.8.13"),
            CommandTable.Row("latency|doctor", 2, Admin | NoScript | Loading | Stale, 0, 0, 0, &LatencyDoctor, "server", "Returns a human-readable latency analysis report.", "2.8.13"),
            CommandTable.Row("latency|graph", 3, Admin | NoScript | Loading | Stale, 0, 0, 0, &LatencyGraph, "server", "Returns a latency graph for an event.", "2.8.13"),
            CommandTable.Row("latency|histogram", -2, Admin | NoScript | Loading | Stale, 0, 0, 0, &LatencyHistogramCommand, "server", "Returns the cumulative distribution of latencies of a subset or all commands.", "7.0.0"),
            CommandTable.Row("latency|help", 2, Loading | Stale, 0, 0, 0, &LatencyHelp, "server", "Returns helpful text about the different subcommands.", "2.8.13")),
        CommandTable.Row("debug", -2, Admin | NoScript | Loading | Stale, 0, 0, 0, &Debug, "server", "A container for debugging commands."),
    ];

    // ---------------------------------------------------------------- SLOWLOG

    // SLOWLOG GET [count]
    static void SlowlogGet(ref CommandContext c)
    {
        if (c.Argc > 3)
        {
            c.Reply.WriteError("ERR unknown subcommand or wrong number of arguments for '" + c.ArgString(1) + "'. Try SLOWLOG HELP.");
            return;
        }
        long count = 10;
        if (c.Argc == 3 && (!Numbers.TryParseInt64(c.Arg(2), out count) || count < -1))
        {
            c.Reply.WriteError("ERR count should be greater than or equal to -1"u8);
            return;
        }
        c.Server.SlowLog.Write(c.Reply, count == -1 ? long.MaxValue : count);
    }

    // SLOWLOG LEN
    static void SlowlogLen(ref CommandContext c) => c.Reply.WriteInteger(c.Server.SlowLog.Count);

    // SLOWLOG RESET
    static void SlowlogReset(ref CommandContext c)
    {
        c.Server.SlowLog.Reset();
        c.Reply.WriteOk();
    }

    // SLOWLOG HELP
    static void SlowlogHelp(ref CommandContext c) => ClientCommands.WriteHelp(c.Reply, "SLOWLOG",
    [
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ]);

    // ---------------------------------------------------------------- LATENCY

    // LATENCY LATEST
    static void LatencyLatest(ref CommandContext c) => c.Server.Latency.WriteLatest(c.Reply);

    // LATENCY HISTORY event
    static void LatencyHistory(ref CommandContext c) => c.Server.Latency.WriteHistory(c.Reply, c.ArgString(2));

    // LATENCY RESET [event [event ...]]
    static void LatencyReset(ref CommandContext c)
    {
        var events = new List<string>();
        for (int i = 2; i < c.Argc; i++) events.Add(c.ArgString(i));
        c.Reply.WriteInteger(c.Server.Latency.Reset(events));
    }

    // LATENCY DOCTOR
    static void LatencyDoctor(ref CommandContext c)
    {
        string text;
        if (c.Server.Config.LatencyMonitorThreshold == 0 && c.Server.Latency.EventCount == 0)
            text = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
        else if (c.Server.Latency.EventCount == 0)
            text = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep, and your Redis instance too, whatever.\n";
        else
            text = "Dave, I have observed latency spikes in this Redis instance. See LATENCY LATEST and LATENCY HISTORY for the events and their samples.\n";
        c.Reply.WriteVerbatim(text);
    }

    // LATENCY GRAPH event
    static void LatencyGraph(ref CommandContext c)
    {
        var history = new Protocol.RespWriter(256);
        try
        {
            string evt = c.ArgString(2);
            // Reuse the history writer to learn whether the event has samples (a graph needs some).
            c.Server.Latency.WriteHistory(history, evt);
            if (history.Written.SequenceEqual("*0\r\n"u8))
            {
                c.Reply.WriteError("ERR No samples available for event '" + evt + "'");
                return;
            }
            c.Reply.WriteVerbatim(evt + " - see LATENCY HISTORY " + evt + " for the samples (NativeKv draws no ASCII graph)\n");
        }
        finally
        {
            history.Dispose();
        }
    }

    // LATENCY HISTOGRAM [command [command ...]]
    static void LatencyHistogramCommand(ref CommandContext c)
    {
        var list = new List<CommandDef>();
        if (c.Argc == 2) list.AddRange(CommandTable.AllWithSubcommands.Where(x => x.Histogram != null && x.Calls > 0));
        else
        {
            for (int i = 2; i < c.Argc; i++)
            {
                var name = c.ArgString(i).ToLowerInvariant();
                var cmd = CommandTable.AllWithSubcommands.FirstOrDefault(x => x.Name == name);
                if (cmd is { Histogram: not null, Calls: > 0 } && !list.Contains(cmd)) list.Add(cmd);
            }
        }
        var w = c.Reply;
        w.WriteMapHeader(list.Count);
        foreach (var cmd in list)
        {
            var h = cmd.Histogram!;
            // Redis's shape: power-of-two microsecond buckets with cumulative counts.
            var buckets = new SortedDictionary<long, long>();
            long total = 0;
            for (int i = 0; i < h.Length; i++)
            {
                if (h[i] == 0) continue;
                double us = LatencyHistogram.UpperMicroseconds(i);
                long bucket = 1;
                while (bucket < us) bucket <<= 1;
                buckets[bucket] = buckets.GetValueOrDefault(bucket) + h[i];
                total += h[i];
            }
            w.WriteBulk(cmd.Name);
            w.WriteMapHeader(2);
            w.WriteBulk("calls"u8);
            w.WriteInteger(cmd.Calls);
            w.WriteBulk("histogram_usec"u8);
            w.WriteMapHeader(buckets.Count);
            long cumulative = 0;
            foreach (var (bucket, n) in buckets)
            {
                cumulative += n;
                w.WriteInteger(bucket);
                w.WriteInteger(cumulative);
            }
        }
    }

    // LATENCY HELP
    static void LatencyHelp(ref CommandContext c) => ClientCommands.WriteHelp(c.Reply, "LATENCY",
    [
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
    ]);

    // ---------------------------------------------------------------- DEBUG

    /// <summary>enable-debug-command: yes, or local for clients on a loopback address.</summary>
    static bool DebugAllowed(ref CommandContext c)
    {
        string mode = c.Server.Config.EnableDebugCommand;
        if (mode == "yes") return true;
        if (mode != "local") return false;
        string addr = c.Client.Address;
        return addr.StartsWith("127.", StringComparison.Ordinal) || addr.StartsWith("[::1]", StringComparison.Ordinal) || addr.StartsWith("[::ffff:127.", StringComparison.Ordinal);
    }

    // DEBUG subcommand [arg ...]
    static void Debug(ref CommandContext c)
    {
        if (!DebugAllowed(ref c))
        {
            c.Reply.WriteError("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."u8);
            return;
        }
        if (c.ArgIs(1, "HELP"u8)) DebugHelp(ref c);
        else if (c.ArgIs(1, "SLEEP"u8) && c.Argc == 3) DebugSleep(ref c);
        else if (c.ArgIs(1, "OBJECT"u8) && c.Argc == 3) DebugObject(ref c);
        else if (c.ArgIs(1, "SET-ACTIVE-EXPIRE"u8) && c.Argc == 3)
        {
            c.Store.ActiveExpireEnabled = !c.Arg(2).SequenceEqual("0"u8) && Numbers.TryParseInt64(c.Arg(2), out long v) && v != 0;
            c.Reply.WriteOk();
        }
        else if (c.ArgIs(1, "PROTOCOL"u8) && c.Argc == 3) DebugProtocol(ref c);
        else if (c.ArgIs(1, "LOG"u8) && c.Argc == 3)
        {
            Console.Out.WriteLine("DEBUG LOG: " + c.ArgString(2));
            c.Reply.WriteOk();
        }
        else if (c.ArgIs(1, "CHANGE-REPL-ID"u8) && c.Argc == 2) c.Reply.WriteOk();
        else c.Reply.WriteError("ERR unknown subcommand or wrong number of arguments for '" + Truncate(c.ArgString(1), 128) + "'. Try DEBUG HELP.");
    }

    static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

    static void DebugHelp(ref CommandContext c) => ClientCommands.WriteHelp(c.Reply, "DEBUG",
    [
        "CHANGE-REPL-ID",
        "    Change the replication IDs of the instance (a no-op: NativeKv has no replication).",
        "LOG <message>",
        "    Write <message> to the server log.",
        "OBJECT <key>",
        "    Show low level info about the `key` and associated value.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
    ]);

    // DEBUG SLEEP seconds: holds this connection's thread, as Redis holds its whole event loop.
    static void DebugSleep(ref CommandContext c)
    {
        double.TryParse(c.ArgString(2), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds);
        if (seconds > 0 && !double.IsNaN(seconds)) Thread.Sleep(TimeSpan.FromSeconds(Math.Min(seconds, int.MaxValue / 1000.0)));
        c.Reply.WriteOk();
    }

    // DEBUG OBJECT key
    static void DebugObject(ref CommandContext c)
    {
        var key = c.Arg(2);
        var shard = c.Db.ShardFor(key, out uint h);
        string text;
        using (shard.Lock.EnterScope())
        {
            Entry* e = shard.Lookup(key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteError("ERR no such key"u8);
                return;
            }
            string encoding = Encoding.ASCII.GetString(ObjectEncoding.Name(e));
            long usage = MemoryCommands.KeyUsage(shard, e);
            uint idle = Clock.IdleMs(e->LruClock) / 1000;
            text = string.Create(CultureInfo.InvariantCulture,
                $"Value at:0x{(ulong)e:x} refcount:1 encoding:{encoding} serializedlength:{usage} lru:{(e->LruClock / 1000) & 0xFFFFFF} lru_seconds_idle:{idle}");
            if (e->Type == Keyspace.ValueType.List) text += " ql_nodes:1 ql_avg_node:0.00 ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:0";
        }
        c.Reply.WriteSimpleString(Encoding.ASCII.GetBytes(text));
    }

    // DEBUG PROTOCOL string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false
    static void DebugProtocol(ref CommandContext c)
    {
        var w = c.Reply;
        string name = c.ArgString(2).ToLowerInvariant();
        switch (name)
        {
            case "string":
                w.WriteBulk("Hello World"u8);
                break;
            case "integer":
                w.WriteInteger(12345);
                break;
            case "double":
                w.WriteDouble(3.141);
                break;
            case "bignum":
                w.WriteBigNumber("1234567999999999999999999999999999999"u8);
                break;
            case "null":
                w.WriteNull();
                break;
            case "array":
            case "set":
                if (name == "set") w.WriteSetHeader(3);
                else w.WriteArrayHeader(3);
                for (int j = 0; j < 3; j++) w.WriteInteger(j);
                break;
            case "map":
                w.WriteMapHeader(3);
                for (int j = 0; j < 3; j++)
                {
                    w.WriteInteger(j);
                    w.WriteBoolean(j == 1);
                }
                break;
            case "attrib":
                if (w.Resp3)
                {
                    w.WriteAttributeHeader(1);
                    w.WriteBulk("key-popularity"u8);
                    w.WriteArrayHeader(2);
                    w.WriteBulk("key:123"u8);
                    w.WriteInteger(90);
                }
                w.WriteBulk("Some real reply following the attribute"u8);
                break;
            case "push":
                if (!w.Resp3)
                {
                    w.WriteError("ERR RESP2 is not supported by this command"u8);
                    return;
                }
                w.WritePushHeader(2);
                w.WriteBulk("server-cpu-usage"u8);
                w.WriteInteger(42);
                w.WriteBulk("Some real reply following the push reply"u8);
                break;
            case "true":
                w.WriteBoolean(true);
                break;
            case "false":
                w.WriteBoolean(false);
                break;
            case "verbatim":
                w.WriteVerbatim("This is a verbatim\nstring"u8, "txt"u8);
                break;
            default:
                w.WriteError("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"u8);
                break;
        }
    }
}
