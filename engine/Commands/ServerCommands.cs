// Connection and server commands (Redis's server.c, config.c, networking.c): PING ECHO QUIT SELECT
// TIME, CLIENT basics, COMMAND from the command table, CONFIG GET/SET, INFO, SHUTDOWN.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace NativeKv.Engine.Commands;

public static unsafe class ServerCommands
{
    // PING [message]
    public static void Ping(ref CommandContext c)
    {
        if (c.Argc > 2)
        {
            c.WrongArity();
            return;
        }
        if (c.Argc == 1) c.Reply.WriteRaw("+PONG\r\n"u8);
        else c.Reply.WriteBulk(c.Arg(1));
    }

    // ECHO message
    public static void Echo(ref CommandContext c) => c.Reply.WriteBulk(c.Arg(1));

    // QUIT
    public static void Quit(ref CommandContext c)
    {
        c.Reply.WriteOk();
        c.Client.CloseAfterReply = true;
    }

    // SELECT index
    public static void Select(ref CommandContext c)
    {
        if (!Numbers.TryParseInt64(c.Arg(1), out long db) || db < int.MinValue || db > int.MaxValue)
        {
            c.Reply.WriteError(Errors.NotInteger);
            return;
        }
        if (db < 0 || db >= c.Store.Databases.Length)
        {
            c.Reply.WriteError(Errors.DbIndexOutOfRange);
            return;
        }
        c.Client.Db = (int)db;
        c.Reply.WriteOk();
    }

    // TIME
    public static void Time(ref CommandContext c)
    {
        long us = Clock.UnixUs();
        c.Reply.WriteArrayHeader(2);
        c.Reply.WriteBulk(us / 1_000_000);
        c.Reply.WriteBulk(us % 1_000_000);
    }

    // ---------------------------------------------------------------- CLIENT

    // CLIENT ID
    public static void ClientId(ref CommandContext c) => c.Reply.WriteInteger(c.Client.Id);

    // CLIENT GETNAME
    public static void ClientGetName(ref CommandContext c)
    {
        if (string.IsNullOrEmpty(c.Client.Name)) c.Reply.WriteNull();
        else c.Reply.WriteBulk(c.Client.Name);
    }

    // CLIENT SETNAME connection-name
    public static void ClientSetName(ref CommandContext c)
    {
        foreach (byte b in c.Arg(2))
        {
            if (b < '!' || b > '~')
            {
                c.Reply.WriteError("ERR Client names cannot contain spaces, newlines or special characters."u8);
                return;
            }
        }
        c.Client.Name = c.Arg(2).Length == 0 ? null : c.ArgString(2);
        c.Reply.WriteOk();
    }

    // CLIENT SETINFO <LIB-NAME libname | LIB-VER libver>
    public static void ClientSetInfo(ref CommandContext c)
    {
        if (!c.ArgIs(2, "LIB-NAME"u8) && !c.ArgIs(2, "LIB-VER"u8))
        {
            c.Reply.WriteError("ERR Unrecognized option '" + c.ArgString(2) + "'");
            return;
        }
        c.Reply.WriteOk();
    }

    // CLIENT LIST
    public static void ClientList(ref CommandContext c)
    {
        var sb = new StringBuilder();
        foreach (var client in c.Server.Clients.Values.OrderBy(x => x.Id))
            sb.Append(ClientLine(client, c.NowMs)).Append('\n');
        c.Reply.WriteBulk(sb.ToString());
    }

    // CLIENT INFO
    public static void ClientInfo(ref CommandContext c) => c.Reply.WriteBulk(ClientLine(c.Client, c.NowMs) + "\n");

    internal static string ClientLine(ClientState x, long now) => string.Create(CultureInfo.InvariantCulture,
        $"id={x.Id} addr={x.Address} laddr={x.LocalAddress} fd=0 name={x.Name} age={(now - x.CreatedMs) / 1000} idle={(now - x.LastInteractionMs) / 1000} flags={(x.BlockedOnKeys ? "b" : "N")} db={x.Db} sub=0 psub=0 ssub=0 multi=-1 qbuf={x.QueryBufferBytes} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={x.OutputBufferBytes} tot-mem=0 events=r cmd={x.LastCommand} user={x.User} redir=-1 resp={x.Protocol}");

    // ---------------------------------------------------------------- COMMAND

    // COMMAND
    public static void Command(ref CommandContext c)
    {
        c.Reply.WriteArrayHeader(CommandTable.All.Count);
        foreach (var cmd in CommandTable.All) WriteCommandInfo(c.Reply, cmd);
    }

    // COMMAND COUNT
    public static void CommandCount(ref CommandContext c) => c.Reply.WriteInteger(CommandTable.All.Count);

    // COMMAND LIST
    public static void CommandList(ref CommandContext c)
    {
        c.Reply.WriteArrayHeader(CommandTable.All.Count);
        foreach (var cmd in CommandTable.All) c.Reply.WriteBulk(cmd.NameBytes);
    }

    // COMMAND INFO [command-name ...]
    public static void CommandInfo(ref CommandContext c)
    {
        if (c.Argc == 2)
        {
            Command(ref c);
            return;
        }
        c.Reply.WriteArrayHeader(c.Argc - 2);
        for (int i = 2; i < c.Argc; i++)
        {
            var cmd = CommandTable.Lookup(c.Arg(i));
            if (cmd == null) c.Reply.WriteNullArray();
            else WriteCommandInfo(c.Reply, cmd);
        }
    }

    static void WriteCommandInfo(Protocol.RespWriter w, CommandDef cmd)
    {
        w.WriteArrayHeader(10);
        w.WriteBulk(cmd.NameBytes);
        w.WriteInteger(cmd.Arity);
        var flags = cmd.FlagNames().ToList();
        w.WriteSetHeader(flags.Count);
        foreach (var f in flags) w.WriteSimpleString(Encoding.ASCII.GetBytes(f));
        w.WriteInteger(cmd.FirstKey);
        w.WriteInteger(cmd.LastKey);
        w.WriteInteger(cmd.KeyStep);
        var cats = CommandTable.AclCategories(cmd);
        w.WriteSetHeader(cats.Count);
        foreach (var cat in cats) w.WriteSimpleString(Encoding.ASCII.GetBytes("@" + cat));
        w.WriteEmptyArray(); // tips
        // Key specifications in Redis 7's shape: a range from an index for the fixed keys, a "keynum"
        // (count argument, then the keys) for the movable ones.
        w.WriteArrayHeader((cmd.FirstKey > 0 ? 1 : 0) + (cmd.MovableKeys ? 1 : 0));
        if (cmd.FirstKey > 0)
        {
            int lastKey = cmd.MovableKeys ? 0 : cmd.LastKey < 0 ? cmd.LastKey : cmd.LastKey - cmd.FirstKey;
            WriteKeySpec(w, cmd.FirstKey, "range", "lastkey", lastKey, "keystep", cmd.KeyStep, "limit", 0);
        }
        if (cmd.MovableKeys) WriteKeySpec(w, cmd.NumKeysIndex, "keynum", "keynumidx", 0, "firstkey", 1, "keystep", 1);
        if (cmd.Subcommands == null) w.WriteEmptyArray();
        else
        {
            w.WriteArrayHeader(cmd.Subcommands.Length);
            foreach (var sub in cmd.Subcommands) WriteCommandInfo(w, sub);
        }
    }

    static void WriteKeySpec(Protocol.RespWriter w, int index, string type, string k1, int v1, string k2, int v2, string k3, int v3)
    {
        w.WriteMapHeader(3);
        w.WriteBulk("flags");
        w.WriteSetHeader(0);
        w.WriteBulk("begin_search");
        w.WriteMapHeader(2);
        w.WriteBulk("type");
        w.WriteBulk("index");
        w.WriteBulk("spec");
        w.WriteMapHeader(1);
        w.WriteBulk("index");
        w.WriteInteger(index);
        w.WriteBulk("find_keys");
        w.WriteMapHeader(2);
        w.WriteBulk("type");
        w.WriteBulk(type);
        w.WriteBulk("spec");
        w.WriteMapHeader(3);
        w.WriteBulk(k1);
        w.WriteInteger(v1);
        w.WriteBulk(k2);
        w.WriteInteger(v2);
        w.WriteBulk(k3);
        w.WriteInteger(v3);
    }

    // COMMAND DOCS [command-name ...]
    public static void CommandDocs(ref CommandContext c)
    {
        var list = new List<CommandDef>();
        if (c.Argc == 2) list.AddRange(CommandTable.All);
        else
        {
            for (int i = 2; i < c.Argc; i++)
            {
                var cmd = CommandTable.Lookup(c.Arg(i));
                if (cmd != null) list.Add(cmd);
            }
        }
        c.Reply.WriteMapHeader(list.Count);
        foreach (var cmd in list) WriteDocs(c.Reply, cmd);
    }

    static void WriteDocs(Protocol.RespWriter w, CommandDef cmd)
    {
        w.WriteBulk(cmd.Name.Contains('|') ? cmd.ShortName : cmd.Name);
        int fields = cmd.Subcommands != null ? 4 : 3;
        w.WriteMapHeader(fields);
        w.WriteBulk("summary");
        w.WriteBulk(cmd.Summary);
        w.WriteBulk("since");
        w.WriteBulk(cmd.Since);
        w.WriteBulk("group");
        w.WriteBulk(cmd.Group);
        if (cmd.Subcommands != null)
        {
            w.WriteBulk("subcommands");
            w.WriteMapHeader(cmd.Subcommands.Length);
            foreach (var sub in cmd.Subcommands)
            {
                w.WriteBulk(sub.Name);
                w.WriteMapHeader(3);
                w.WriteBulk("summary");
                w.WriteBulk(sub.Summary);
                w.WriteBulk("since");
                w.WriteBulk(sub.Since);
                w.WriteBulk("group");
                w.WriteBulk(sub.Group);
            }
        }
    }

    // COMMAND GETKEYS command [arg ...]
    public static void CommandGetKeys(ref CommandContext c)
    {
        var cmd = CommandTable.Lookup(c.Arg(2));
        if (cmd == null)
        {
            c.Reply.WriteError("ERR Invalid command specified"u8);
            return;
        }
        if (!cmd.HasKeys)
        {
            c.Reply.WriteError("ERR The command has no key arguments"u8);
            return;
        }
        int argc = c.Argc - 2;
        if (!cmd.ArityOk(argc))
        {
            c.Reply.WriteError("ERR Invalid number of arguments specified for command"u8);
            return;
        }
        var keys = new int[argc];
        int n = cmd.GetKeys(c.Args, 2, keys);
        if (n == 0 && (cmd.Flags & CommandFlags.NoMandatoryKeys) == 0)
        {
            c.Reply.WriteError("ERR Invalid arguments specified for command"u8);
            return;
        }
        c.Reply.WriteArrayHeader(n);
        for (int i = 0; i < n; i++) c.Reply.WriteBulk(c.Arg(keys[i] + 2));
    }

    // ---------------------------------------------------------------- CONFIG

    // CONFIG GET parameter [parameter ...]
    public static void ConfigGet(ref CommandContext c)
    {
        var seen = new HashSet<string>();
        var pairs = new List<(string, string)>();
        for (int i = 2; i < c.Argc; i++)
            foreach (var p in c.Server.Config.Get(c.Arg(i)))
                if (seen.Add(p.Name)) pairs.Add(p);
        c.Reply.WriteMapHeader(pairs.Count);
        foreach (var (name, value) in pairs)
        {
            c.Reply.WriteBulk(name);
            c.Reply.WriteBulk(value);
        }
    }

    // CONFIG SET parameter value [parameter value ...]
    public static void ConfigSet(ref CommandContext c)
    {
        if (c.Argc % 2 != 0)
        {
            c.WrongArity();
            return;
        }
        for (int i = 2; i < c.Argc; i += 2)
        {
            string? err = c.Server.Config.Set(c.ArgString(i), c.ArgString(i + 1));
            if (err != null)
            {
                c.Reply.WriteError(err);
                return;
            }
        }
        c.Server.ApplyConfig();
        if (c.Server.Persistence?.ApplyConfig() is { } failed)
        {
            c.Reply.WriteError(failed);
            return;
        }
        c.Reply.WriteOk();
    }

    // CONFIG RESETSTAT
    public static void ConfigResetStat(ref CommandContext c)
    {
        var s = c.Server;
        s.TotalCommands = s.TotalConnections = s.RejectedConnections = s.TotalErrorReplies = 0;
        s.NetInputBytes = s.NetOutputBytes = s.EvictedKeys = 0;
        s.Acl.DeniedAuth = s.Acl.DeniedCommand = s.Acl.DeniedKey = s.Acl.DeniedChannel = 0;
        foreach (var cmd in CommandTable.AllWithSubcommands)
        {
            cmd.Calls = cmd.Microseconds = cmd.FailedCalls = 0;
        }
        foreach (var db in c.Store.Databases)
            foreach (var shard in db.Shards)
            {
                shard.Hits = shard.Misses = 0;
                shard.ExpiredKeys = 0;
            }
        c.Reply.WriteOk();
    }

    // ---------------------------------------------------------------- INFO

    // INFO [section [section ...]]
    public static void Info(ref CommandContext c)
    {
        var sections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 1; i < c.Argc; i++) sections.Add(c.ArgString(i));
        c.Reply.WriteBulk(InfoText.Build(c.Server, sections));
    }

    // ---------------------------------------------------------------- SHUTDOWN

    // SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
    public static void Shutdown(ref CommandContext c)
    {
        bool? save = null;
        for (int i = 1; i < c.Argc; i++)
        {
            if (c.ArgIs(i, "NOSAVE"u8) && save != true) save = false;
            else if (c.ArgIs(i, "SAVE"u8) && save != false) save = true;
            else if (c.ArgIs(i, "NOW"u8) || c.ArgIs(i, "FORCE"u8)) { }
            else if (c.ArgIs(i, "ABORT"u8))
            {
                c.Reply.WriteError("ERR No shutdown in progress."u8);
                return;
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        if (c.Server.RequestShutdown == null)
        {
            c.Reply.WriteError("ERR Errors trying to SHUTDOWN. Check logs."u8);
            return;
        }
        // Like Redis, a successful SHUTDOWN sends no reply: the connection closes as the process exits.
        c.Client.CloseAfterReply = true;
        c.Server.RequestShutdown(save);
    }
}

/// <summary>The INFO text, section by section, with Redis's field names.</summary>
public static class InfoText
{
    static readonly string[] DefaultSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"];

    public static string Build(ServerState s, HashSet<string> requested)
    {
        bool all = requested.Count == 0 || requested.Contains("all") || requested.Contains("everything") || requested.Contains("default");
        bool everything = requested.Contains("all") || requested.Contains("everything");
        var sb = new StringBuilder();
        void Section(string name, Action<StringBuilder> body)
        {
            bool wanted = requested.Contains(name) || (all && (DefaultSections.Contains(name) || everything));
            if (!wanted) return;
            if (sb.Length > 0) sb.Append("\r\n");
            sb.Append("# ").Append(char.ToUpperInvariant(name[0])).Append(name[1..]).Append("\r\n");
            body(sb);
        }
        var inv = CultureInfo.InvariantCulture;
        long now = Clock.UnixMs();
        long uptime = (now - s.StartedMs) / 1000;
        long rss = Memory.OsMemory.ResidentBytes();
        long used = s.UsedMemory;

        Section("server", b => b.Append(string.Create(inv,
            $"redis_version:{ServerState.RedisCompatVersion}\r\nnativekv_version:{ServerState.Version}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{RuntimeInformation.OSDescription}\r\narch_bits:{IntPtr.Size * 8}\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\nprocess_id:{Environment.ProcessId}\r\nprocess_supervised:no\r\nrun_id:{s.RunId}\r\ntcp_port:{s.Config.Port}\r\nserver_time_usec:{Clock.UnixUs()}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{uptime / 86400}\r\nhz:{s.Config.Hz}\r\nconfigured_hz:{s.Config.Hz}\r\nlru_clock:{(Clock.LruMs() / 1000) & 0xFFFFFF}\r\nexecutable:{Environment.ProcessPath}\r\nconfig_file:{s.Config.ConfigFile}\r\nio_threads_active:0\r\n")));
        Section("clients", b => b.Append(string.Create(inv,
            $"connected_clients:{s.ConnectedClients}\r\ncluster_connections:0\r\nmaxclients:{s.Config.MaxClients}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{s.Blocking.BlockedClients}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n")));
        Section("memory", b => b.Append(string.Create(inv,
            $"used_memory:{used}\r\nused_memory_human:{Human(used)}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{Human(rss)}\r\nused_memory_peak:{s.PeakMemory}\r\nused_memory_peak_human:{Human(s.PeakMemory)}\r\nused_memory_dataset:{s.Store.AllocatedBytes}\r\nused_memory_startup:0\r\nallocator_allocated:{used}\r\nmaxmemory:{s.Config.MaxMemory}\r\nmaxmemory_human:{Human(s.Config.MaxMemory)}\r\nmaxmemory_policy:{s.Config.MaxMemoryPolicy}\r\nmem_fragmentation_ratio:{(used > 0 ? (double)rss / used : 0):F2}\r\nmem_allocator:nativekv-slab\r\nlazyfree_pending_objects:0\r\nmanaged_heap_bytes:{GC.GetTotalMemory(false)}\r\nmanaged_committed_bytes:{GC.GetGCMemoryInfo().TotalCommittedBytes}\r\n")
            + ScriptMemory(s)));
        Section("persistence", b => b.Append(s.Persistence?.InfoSection() ?? string.Create(inv,
            $"loading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{s.StartedMs / 1000}\r\nrdb_last_bgsave_status:ok\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_last_bgrewrite_status:ok\r\naof_last_write_status:ok\r\n")));
        Section("stats", b =>
        {
            long hits = 0, misses = 0;
            foreach (var db in s.Store.Databases)
                foreach (var sh in db.Shards) { hits += sh.Hits; misses += sh.Misses; }
            b.Append(string.Create(inv,
                $"total_connections_received:{s.TotalConnections}\r\ntotal_commands_processed:{Volatile.Read(ref s.TotalCommands)}\r\ninstantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{s.NetInputBytes}\r\ntotal_net_output_bytes:{s.NetOutputBytes}\r\nrejected_connections:{s.RejectedConnections}\r\nexpired_keys:{s.Store.ExpiredKeys}\r\nevicted_keys:{s.EvictedKeys}\r\nkeyspace_hits:{hits}\r\nkeyspace_misses:{misses}\r\npubsub_channels:0\r\npubsub_patterns:0\r\ntotal_error_replies:{s.TotalErrorReplies}\r\nacl_access_denied_auth:{s.Acl.DeniedAuth}\r\nacl_access_denied_cmd:{s.Acl.DeniedCommand}\r\nacl_access_denied_key:{s.Acl.DeniedKey}\r\nacl_access_denied_channel:{s.Acl.DeniedChannel}\r\n"));
        });
        Section("replication", b => b.Append("role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:" + s.RunId[..40] + "\r\nmaster_repl_offset:0\r\n"));
        Section("cpu", b =>
        {
            using var p = Process.GetCurrentProcess();
            b.Append(string.Create(inv, $"used_cpu_sys:{p.PrivilegedProcessorTime.TotalSeconds:F6}\r\nused_cpu_user:{p.UserProcessorTime.TotalSeconds:F6}\r\n"));
        });
        Section("commandstats", b =>
        {
            foreach (var cmd in CommandTable.AllWithSubcommands)
            {
                if (cmd.Calls == 0) continue;
                b.Append(string.Create(inv, $"cmdstat_{cmd.Name}:calls={cmd.Calls},usec={cmd.Microseconds},usec_per_call={(double)cmd.Microseconds / cmd.Calls:F2},rejected_calls=0,failed_calls={cmd.FailedCalls}\r\n"));
            }
        });
        Section("keyspace", b =>
        {
            foreach (var db in s.Store.Databases)
            {
                long keys = db.Count;
                if (keys == 0) continue;
                b.Append(string.Create(inv, $"db{db.Index}:keys={keys},expires={db.ExpiresCount},avg_ttl=0\r\n"));
            }
        });
        return sb.ToString();
    }

    /// <summary>The scripting fields of INFO memory (Redis 7.0 names; NativeKv's VMs serve EVAL and
    /// functions alike, so the eval and functions figures are the same heaps).</summary>
    static string ScriptMemory(ServerState s)
    {
        var host = s.ScriptHost;
        long lua = host?.MemoryBytes ?? 0;
        int scripts = host?.CachedScripts ?? 0;
        var (libraries, functions) = host?.FunctionCounts ?? (0, 0);
        return string.Create(CultureInfo.InvariantCulture,
            $"used_memory_lua:{lua}\r\nused_memory_vm_eval:{lua}\r\nused_memory_lua_human:{Human(lua)}\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:{scripts}\r\nnumber_of_functions:{functions}\r\nnumber_of_libraries:{libraries}\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:{lua}\r\nused_memory_vm_total_human:{Human(lua)}\r\nused_memory_functions:0\r\nused_memory_scripts:0\r\n");
    }

    static string Human(long bytes)
    {
        var inv = CultureInfo.InvariantCulture;
        if (bytes < 1024) return bytes.ToString(inv) + "B";
        if (bytes < 1024 * 1024) return (bytes / 1024.0).ToString("F2", inv) + "K";
        if (bytes < 1024L * 1024 * 1024) return (bytes / 1024.0 / 1024).ToString("F2", inv) + "M";
        return (bytes / 1024.0 / 1024 / 1024).ToString("F2", inv) + "G";
    }
}
