// Which keys (and which databases) a command touches, read from its command-table row: the
// first/last/step triple, a row's KeyPositions function for movable keys, and the few commands that
// reach other databases (MOVE, COPY ... DB, FLUSHALL, SWAPDB). A keyless command that reads or writes
// the keyspace (KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB) touches its whole database.
//
// Scripts use this to lock a command's shards before it runs and to snapshot the keys a write command
// is about to change; the script gate uses it to see whether a command would wait behind a script.
using System.Runtime.CompilerServices;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Protocol;

namespace NativeKv.Engine.Scripting;

public interface IKeyVisitor
{
    /// <summary>The command touches <paramref name="key"/> in database <paramref name="db"/>.</summary>
    void Key(int db, ReadOnlySpan<byte> key);

    /// <summary>The command touches every key of database <paramref name="db"/>.</summary>
    void WholeDatabase(int db);

    /// <summary>The command touches every database (FLUSHALL, SWAPDB).</summary>
    void AllDatabases();
}

public static unsafe class KeySpec
{
    /// <summary>Key positions a KeyPositions function may report before the command counts as whole-database.</summary>
    const int MaxMovableKeys = 256;

    static CommandDef? s_move, s_copy, s_flushall, s_swapdb;
    static volatile bool s_resolved;

    static void Resolve()
    {
        s_move = CommandTable.Lookup("move"u8);
        s_copy = CommandTable.Lookup("copy"u8);
        s_flushall = CommandTable.Lookup("flushall"u8);
        s_swapdb = CommandTable.Lookup("swapdb"u8);
        s_resolved = true;
    }

    /// <summary>True when the command reads or writes the keyspace through shard locks. Commands that
    /// scripts may not call (EVAL itself, FUNCTION LOAD, ...) take their own locks or none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TouchesKeyspace(CommandDef cmd) =>
        (cmd.Flags & CommandFlags.NoScript) == 0
        && (cmd.FirstKey > 0 || cmd.KeyPositions != null || (cmd.Flags & (CommandFlags.Write | CommandFlags.ReadOnly)) != 0);

    /// <summary>Reports every key (or database) <paramref name="cmd"/> touches with these arguments,
    /// for a client whose selected database is <paramref name="db"/>.</summary>
    public static void Visit<T>(CommandDef cmd, ArgList args, int db, int dbCount, ref T visitor) where T : struct, IKeyVisitor
    {
        int argc = args.Count;
        if (cmd.KeyPositions != null)
        {
            Span<int> positions = stackalloc int[MaxMovableKeys];
            int n = cmd.KeyPositions(args, positions);
            if (n < 0)
            {
                visitor.WholeDatabase(db);
                return;
            }
            for (int i = 0; i < n; i++)
                if ((uint)positions[i] < (uint)argc) visitor.Key(db, args.Get(positions[i]));
            return;
        }
        if (cmd.FirstKey > 0)
        {
            int last = cmd.LastKey < 0 ? argc + cmd.LastKey : cmd.LastKey;
            int step = cmd.KeyStep <= 0 ? 1 : cmd.KeyStep;
            for (int i = cmd.FirstKey; i <= last && i < argc; i += step) visitor.Key(db, args.Get(i));
            if (!s_resolved) Resolve();
            if (ReferenceEquals(cmd, s_move)) CrossDatabaseKey(args, 2, 1, db, dbCount, ref visitor);
            else if (ReferenceEquals(cmd, s_copy))
            {
                for (int i = 3; i + 1 < argc; i++)
                    if (Ascii.EqualsIgnoreCase(args.Get(i), "DB"u8)) CrossDatabaseKey(args, i + 1, 2, db, dbCount, ref visitor);
            }
            return;
        }
        if ((cmd.Flags & (CommandFlags.Write | CommandFlags.ReadOnly)) == 0) return;
        if (!s_resolved) Resolve();
        if (ReferenceEquals(cmd, s_flushall) || ReferenceEquals(cmd, s_swapdb)) visitor.AllDatabases();
        else visitor.WholeDatabase(db);
    }

    /// <summary>MOVE key db / COPY ... DB db: the key argument in the database named by another argument.</summary>
    static void CrossDatabaseKey<T>(ArgList args, int dbArg, int keyArg, int db, int dbCount, ref T visitor) where T : struct, IKeyVisitor
    {
        if (Numbers.TryParseInt64(args.Get(dbArg), out long target) && target >= 0 && target < dbCount && target != db)
            visitor.Key((int)target, args.Get(keyArg));
    }

    /// <summary>KeyPositions for EVAL/EVALSHA/FCALL and their _RO forms: `cmd script numkeys key...`.</summary>
    public static int NumKeysAt2(ArgList args, Span<int> positions)
    {
        if (args.Count < 3 || !Numbers.TryParseInt64(args.Get(2), out long n) || n < 0 || n > args.Count - 3) return 0;
        if (n > positions.Length) return -1;
        for (int i = 0; i < n; i++) positions[i] = 3 + i;
        return (int)n;
    }
}
