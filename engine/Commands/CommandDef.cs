// A command table row: what `processCommand` needs to check and dispatch a command, and what COMMAND,
// ACL categories, the AOF and script rules read. Rows are declared in CommandTable.
namespace NativeKv.Engine.Commands;

[Flags]
public enum CommandFlags : uint
{
    None = 0,
    Write = 1 << 0,
    ReadOnly = 1 << 1,
    DenyOom = 1 << 2,
    Fast = 1 << 3,
    NoScript = 1 << 4,
    Admin = 1 << 5,
    Blocking = 1 << 6,
    Loading = 1 << 7,   // allowed while loading data
    Stale = 1 << 8,
    NoAuth = 1 << 9,    // allowed before AUTH
    PubSub = 1 << 10,
    SkipMonitor = 1 << 11,
}

public unsafe sealed class CommandDef
{
    public readonly string Name;          // lower case, as Redis names it ("get", "config|get")
    public readonly byte[] NameBytes;
    public readonly int Arity;            // >0: exactly; <0: at least -Arity (argv[0] included)
    public readonly CommandFlags Flags;
    public readonly int FirstKey, LastKey, KeyStep;
    public readonly delegate*<ref CommandContext, void> Handler;
    public readonly string Group;         // "string", "generic", "connection", "server", ...
    public readonly string Summary;
    public readonly string Since;

    /// <summary>The handler counts its changes in CommandContext.Dirty (see CommandTable.DirtyTracking).</summary>
    public bool TracksDirty;

    /// <summary>For container commands (CONFIG, CLIENT, OBJECT...): the subcommands, named "parent|sub".</summary>
    public CommandDef[]? Subcommands;
    public CommandDef? Parent;

    /// <summary>The subcommand's own name ("get" for "config|get").</summary>
    public string ShortName => Parent == null ? Name : Name[(Parent.Name.Length + 1)..];

    // Statistics (INFO commandstats), updated with interlocked adds.
    public long Calls;
    public long Microseconds;
    public long FailedCalls;

    public CommandDef(string name, int arity, CommandFlags flags, int firstKey, int lastKey, int keyStep,
        delegate*<ref CommandContext, void> handler, string group, string summary, string since = "1.0.0")
    {
        Name = name;
        NameBytes = System.Text.Encoding.ASCII.GetBytes(name);
        Arity = arity;
        Flags = flags;
        FirstKey = firstKey;
        LastKey = lastKey;
        KeyStep = keyStep;
        Handler = handler;
        Group = group;
        Summary = summary;
        Since = since;
    }

    public bool ArityOk(int argc) => Arity > 0 ? argc == Arity : argc >= -Arity;

    /// <summary>Redis's flag words, as COMMAND INFO lists them.</summary>
    public IEnumerable<string> FlagNames()
    {
        if ((Flags & CommandFlags.Write) != 0) yield return "write";
        if ((Flags & CommandFlags.ReadOnly) != 0) yield return "readonly";
        if ((Flags & CommandFlags.DenyOom) != 0) yield return "denyoom";
        if ((Flags & CommandFlags.Admin) != 0) yield return "admin";
        if ((Flags & CommandFlags.PubSub) != 0) yield return "pubsub";
        if ((Flags & CommandFlags.NoScript) != 0) yield return "noscript";
        if ((Flags & CommandFlags.Blocking) != 0) yield return "blocking";
        if ((Flags & CommandFlags.Loading) != 0) yield return "loading";
        if ((Flags & CommandFlags.Stale) != 0) yield return "stale";
        if ((Flags & CommandFlags.SkipMonitor) != 0) yield return "skip_monitor";
        if ((Flags & CommandFlags.NoAuth) != 0) yield return "no_auth";
        if ((Flags & CommandFlags.Fast) != 0) yield return "fast";
    }
}
