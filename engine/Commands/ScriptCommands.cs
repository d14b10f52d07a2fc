// Scripting commands (Redis's eval.c and function.c front ends): EVAL, EVALSHA and their read-only
// forms, FCALL/FCALL_RO, SCRIPT and FUNCTION. The handlers check what every engine shares (numkeys,
// options) and hand the rest to the script host (ServerState.ScriptHost, the Lua engine in interop/).
// SCRIPT KILL and FUNCTION KILL are answered here from the registry of running scripts.
using NativeKv.Engine.Scripting;
using static NativeKv.Engine.Commands.CommandFlags;

namespace NativeKv.Engine.Commands;

public static unsafe class ScriptCommands
{
    public static readonly CommandDef[] Rows = BuildRows();

    static CommandDef[] BuildRows()
    {
        CommandDef[] rows =
        [
            CommandTable.Row("eval", -3, NoScript | SkipMonitor | Stale | NoMandatoryKeys, 0, 0, 0, &Eval, "scripting", "Executes a server-side Lua script.", "2.6.0", numKeys: 2),
            CommandTable.Row("evalsha", -3, NoScript | SkipMonitor | Stale | NoMandatoryKeys, 0, 0, 0, &EvalSha, "scripting", "Executes a server-side Lua script by SHA1 digest.", "2.6.0", numKeys: 2),
            CommandTable.Row("eval_ro", -3, NoScript | SkipMonitor | Stale | NoMandatoryKeys | ReadOnly, 0, 0, 0, &EvalRo, "scripting", "Executes a read-only server-side Lua script.", "7.0.0", numKeys: 2),
            CommandTable.Row("evalsha_ro", -3, NoScript | SkipMonitor | Stale | NoMandatoryKeys | ReadOnly, 0, 0, 0, &EvalShaRo, "scripting", "Executes a read-only server-side Lua script by SHA1 digest.", "7.0.0", numKeys: 2),
            CommandTable.Row("fcall", -3, NoScript | SkipMonitor | Stale | NoMandatoryKeys, 0, 0, 0, &FCall, "scripting", "Invokes a function.", "7.0.0", numKeys: 2),
            CommandTable.Row("fcall_ro", -3, NoScript | SkipMonitor | Stale | NoMandatoryKeys | ReadOnly, 0, 0, 0, &FCallRo, "scripting", "Invokes a read-only function.", "7.0.0", numKeys: 2),
            CommandTable.Parent("script", -2, None, "scripting", "A container for Lua scripts management commands.",
                CommandTable.Row("script|load", 3, NoScript | Stale, 0, 0, 0, &ScriptLoad, "scripting", "Loads a server-side Lua script to the script cache.", "2.6.0"),
                CommandTable.Row("script|exists", -3, NoScript, 0, 0, 0, &ScriptExists, "scripting", "Determines whether server-side Lua scripts exist in the script cache.", "2.6.0"),
                CommandTable.Row("script|flush", -2, NoScript, 0, 0, 0, &ScriptFlush, "scripting", "Removes all server-side Lua scripts from the script cache.", "2.6.0"),
                CommandTable.Row("script|kill", 2, NoScript, 0, 0, 0, &ScriptKill, "scripting", "Terminates a server-side Lua script during execution.", "2.6.0"),
                CommandTable.Row("script|help", 2, Loading | Stale, 0, 0, 0, &ScriptHelp, "scripting", "Returns helpful text about the different subcommands.", "5.0.0")),
            CommandTable.Parent("function", -2, None, "scripting", "A container for function commands.",
                CommandTable.Row("function|load", -3, Write | DenyOom | NoScript, 0, 0, 0, &FunctionLoad, "scripting", "Creates a library.", "7.0.0"),
                CommandTable.Row("function|list", -2, NoScript, 0, 0, 0, &FunctionList, "scripting", "Returns information about all libraries.", "7.0.0"),
                CommandTable.Row("function|delete", 3, Write | NoScript, 0, 0, 0, &FunctionDelete, "scripting", "Deletes a library and its functions.", "7.0.0"),
                CommandTable.Row("function|flush", -2, Write | NoScript, 0, 0, 0, &FunctionFlush, "scripting", "Deletes all libraries and functions.", "7.0.0"),
                CommandTable.Row("function|kill", 2, NoScript, 0, 0, 0, &FunctionKill, "scripting", "Terminates a function during execution.", "7.0.0"),
                CommandTable.Row("function|stats", 2, NoScript, 0, 0, 0, &FunctionStats, "scripting", "Returns information about a function during execution.", "7.0.0"),
                CommandTable.Row("function|help", 2, Loading | Stale, 0, 0, 0, &FunctionHelp, "scripting", "Returns helpful text about the different subcommands.", "7.0.0")),
        ];
        return rows;
    }

    /// <summary>
    /// True when this command runs on a thread that must not wait long (a socket's epoll thread:
    /// completions run inline there, and a wait would stall every connection of that thread) and its
    /// connection can move the batch to the thread pool (<see cref="DeferToThreadPool"/>).
    /// </summary>
    public static bool OnIoThread(ref CommandContext c) =>
        !Thread.CurrentThread.IsThreadPoolThread && c.Client.Resume != null && !c.Client.InScript;

    /// <summary>
    /// Asks the connection to leave this command unexecuted and continue the batch, from this command
    /// on, on the thread pool (one hop per batch). Nothing may have been written to the reply.
    /// </summary>
    public static void DeferToThreadPool(ref CommandContext c)
    {
        c.Client.ContinueOnThreadPool = true;
        c.Client.Suspended = true;
        Interlocked.Decrement(ref c.Command.Calls); // counted when it runs
    }

    /// <summary>Commands that run Lua without the inline safeguards of EVAL/FCALL (FUNCTION LOAD).</summary>
    static bool MovedToThreadPool(ref CommandContext c)
    {
        if (!OnIoThread(ref c)) return false;
        DeferToThreadPool(ref c);
        return true;
    }

    static IScriptHost? HostOrReply(ref CommandContext c)
    {
        var host = c.Server.ScriptHost;
        if (host == null) c.Reply.WriteError("ERR scripting is not available in this server"u8);
        return host;
    }

    /// <summary>Parses numkeys (argument 2) with Redis's errors.</summary>
    public static bool NumKeysOrReply(ref CommandContext c, out int numKeys)
    {
        numKeys = 0;
        if (!c.TryArgInt64OrReply(2, out long n)) return false;
        if (n > c.Argc - 3)
        {
            c.Reply.WriteError("ERR Number of keys can't be greater than number of args"u8);
            return false;
        }
        if (n < 0)
        {
            c.Reply.WriteError("ERR Number of keys can't be negative"u8);
            return false;
        }
        numKeys = (int)n;
        return true;
    }

    static void EvalGeneric(ref CommandContext c, bool bySha, bool readOnly)
    {
        var host = HostOrReply(ref c);
        if (host == null || !NumKeysOrReply(ref c, out int numKeys)) return;
        host.Eval(ref c, bySha, readOnly, numKeys);
    }

    // EVAL script numkeys [key [key ...]] [arg [arg ...]]
    public static void Eval(ref CommandContext c) => EvalGeneric(ref c, bySha: false, readOnly: false);

    // EVALSHA sha1 numkeys [key [key ...]] [arg [arg ...]]
    public static void EvalSha(ref CommandContext c) => EvalGeneric(ref c, bySha: true, readOnly: false);

    // EVAL_RO script numkeys [key [key ...]] [arg [arg ...]]
    public static void EvalRo(ref CommandContext c) => EvalGeneric(ref c, bySha: false, readOnly: true);

    // EVALSHA_RO sha1 numkeys [key [key ...]] [arg [arg ...]]
    public static void EvalShaRo(ref CommandContext c) => EvalGeneric(ref c, bySha: true, readOnly: true);

    static void FCallGeneric(ref CommandContext c, bool readOnly) => HostOrReply(ref c)?.FCall(ref c, readOnly);

    // FCALL function numkeys [key [key ...]] [arg [arg ...]]
    public static void FCall(ref CommandContext c) => FCallGeneric(ref c, readOnly: false);

    // FCALL_RO function numkeys [key [key ...]] [arg [arg ...]]
    public static void FCallRo(ref CommandContext c) => FCallGeneric(ref c, readOnly: true);

    // ---------------------------------------------------------------- SCRIPT

    // SCRIPT LOAD script
    public static void ScriptLoad(ref CommandContext c) => HostOrReply(ref c)?.ScriptLoad(ref c);

    // SCRIPT EXISTS sha1 [sha1 ...]
    public static void ScriptExists(ref CommandContext c) => HostOrReply(ref c)?.ScriptExists(ref c);

    // SCRIPT FLUSH [ASYNC | SYNC]
    public static void ScriptFlush(ref CommandContext c)
    {
        if (c.Argc > 3 || (c.Argc == 3 && !c.ArgIs(2, "ASYNC"u8) && !c.ArgIs(2, "SYNC"u8)))
        {
            c.Reply.WriteError("ERR SCRIPT FLUSH only support SYNC|ASYNC option"u8);
            return;
        }
        var host = HostOrReply(ref c);
        if (host == null) return;
        host.ScriptFlush();
        c.Reply.WriteOk();
    }

    // SCRIPT KILL
    public static void ScriptKill(ref CommandContext c) => KillGeneric(ref c, ScriptKind.Eval);

    // FUNCTION KILL
    public static void FunctionKill(ref CommandContext c) => KillGeneric(ref c, ScriptKind.Function);

    static void KillGeneric(ref CommandContext c, ScriptKind kind)
    {
        string? error = c.Server.RunningScripts.Kill(kind, c.Server.Config.BusyReplyThreshold);
        if (error == null) c.Reply.WriteOk();
        else c.Reply.WriteError(error);
    }

    // SCRIPT HELP
    public static void ScriptHelp(ref CommandContext c) => WriteHelp(ref c, ScriptHelpLines);

    static readonly string[] ScriptHelpLines =
    [
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script. Its writes are rolled back, so a script that",
        "    already wrote can be killed too.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Print this help.",
    ];

    static void WriteHelp(ref CommandContext c, string[] lines)
    {
        c.Reply.WriteArrayHeader(lines.Length);
        foreach (var line in lines) c.Reply.WriteSimpleString(System.Text.Encoding.ASCII.GetBytes(line));
    }

    // ---------------------------------------------------------------- FUNCTION

    // FUNCTION LOAD [REPLACE] function-code
    public static void FunctionLoad(ref CommandContext c)
    {
        if (MovedToThreadPool(ref c)) return; // library code runs (up to its 500 ms load timeout)
        HostOrReply(ref c)?.FunctionLoad(ref c);
    }

    // FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
    public static void FunctionList(ref CommandContext c) => HostOrReply(ref c)?.FunctionList(ref c);

    // FUNCTION DELETE library-name
    public static void FunctionDelete(ref CommandContext c) => HostOrReply(ref c)?.FunctionDelete(ref c);

    // FUNCTION FLUSH [ASYNC | SYNC]
    public static void FunctionFlush(ref CommandContext c)
    {
        if (c.Argc > 3 || (c.Argc == 3 && !c.ArgIs(2, "ASYNC"u8) && !c.ArgIs(2, "SYNC"u8)))
        {
            c.Reply.WriteError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"u8);
            return;
        }
        var host = HostOrReply(ref c);
        if (host == null) return;
        host.FunctionFlush();
        c.Reply.WriteOk();
    }

    // FUNCTION STATS
    public static void FunctionStats(ref CommandContext c)
    {
        var host = HostOrReply(ref c);
        if (host == null) return;
        c.Reply.WriteMapHeader(2);
        c.Reply.WriteBulk("running_script"u8);
        var running = c.Server.RunningScripts.RunningFunction();
        if (running == null) c.Reply.WriteNull();
        else
        {
            c.Reply.WriteMapHeader(3);
            c.Reply.WriteBulk("name"u8);
            c.Reply.WriteBulk(running.FunctionName ?? "");
            c.Reply.WriteBulk("command"u8);
            c.Reply.WriteArrayHeader(2);
            c.Reply.WriteBulk("fcall"u8);
            c.Reply.WriteBulk(running.FunctionName ?? "");
            c.Reply.WriteBulk("duration_ms"u8);
            c.Reply.WriteInteger(running.ElapsedMs);
        }
        var (libraries, functions) = host.FunctionCounts;
        c.Reply.WriteBulk("engines"u8);
        c.Reply.WriteMapHeader(1);
        c.Reply.WriteBulk("LUA"u8);
        c.Reply.WriteMapHeader(2);
        c.Reply.WriteBulk("libraries_count"u8);
        c.Reply.WriteInteger(libraries);
        c.Reply.WriteBulk("functions_count"u8);
        c.Reply.WriteInteger(functions);
    }

    // FUNCTION HELP
    public static void FunctionHelp(ref CommandContext c) => WriteHelp(ref c, FunctionHelpLines);

    static readonly string[] FunctionHelpLines =
    [
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries.",
        "STATS",
        "    Return information about the current function running.",
        "KILL",
        "    Kill the current running function. Its writes are rolled back.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "HELP",
        "    Print this help.",
    ];
}
