// Which keys (and which databases) a command touches, read from its command-table row: the
// first/last/step triple and numkeys argument (CommandDef.GetKeys), and the few commands that
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
    /// <summary>Key positions of a numkeys command kept on the stack; more take an array.</summary>
    const int MaxKeys = 256;

    static CommandDef? s_move, s_copy, s_flushall, s_swapdb, s_flushdb, s_keys, s_scan, s_randomkey, s_dbsize;
    static volatile bool s_resolved;

    static void Resolve()
    {
        s_move = CommandTable.Lookup("move"u8);
        s_copy = CommandTable.Lookup("copy"u8);
        s_flushall = CommandTable.Lookup("flushall"u8);
        s_swapdb = CommandTable.Lookup("swapdb"u8);
        s_flushdb = CommandTable.Lookup("flushdb"u8);
        s_keys = CommandTable.Lookup("keys"u8);
        s_scan = CommandTable.Lookup("scan"u8);
        s_randomkey = CommandTable.Lookup("randomkey"u8);
        s_dbsize = CommandTable.Lookup("dbsize"u8);
        s_resolved = true;
    }

    /// <summary>True when the command reads or writes the keyspace through shard locks. Commands that
    /// scripts may not call (EVAL itself, FUNCTION LOAD, ...) take their own locks or none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TouchesKeyspace(CommandDef cmd) =>
        (cmd.Flags & CommandFlags.NoScript) == 0
        && (cmd.HasKeys || (cmd.Flags & (CommandFlags.Write | CommandFlags.ReadOnly)) != 0);

    /// <summary>Reports every key (or database) <paramref name="cmd"/> touches with these arguments,
    /// for a client whose selected database is <paramref name="db"/>.</summary>
    public static void Visit<T>(CommandDef cmd, ArgList args, int db, int dbCount, ref T visitor) where T : struct, IKeyVisitor
    {
        if (!s_resolved) Resolve();
        int argc = args.Count;
        if (cmd.MovableKeys)
        {
            // Keys counted by a numkeys argument: Redis's key specs, as COMMAND GETKEYS reads them.
            Span<int> positions = argc <= MaxKeys ? stackalloc int[MaxKeys] : new int[argc];
            int n = cmd.GetKeys(args, 0, positions);
            for (int i = 0; i < n; i++) visitor.Key(db, args.Get(positions[i]));
            return;
        }
        if (cmd.FirstKey > 0)
        {
            int last = cmd.LastKey < 0 ? argc + cmd.LastKey : cmd.LastKey;
            int step = cmd.KeyStep <= 0 ? 1 : cmd.KeyStep;
            for (int i = cmd.FirstKey; i <= last && i < argc; i += step) visitor.Key(db, args.Get(i));
            if (ReferenceEquals(cmd, s_move)) CrossDatabaseKey(args, 2, 1, db, dbCount, ref visitor);
            else if (ReferenceEquals(cmd, s_copy))
            {
                for (int i = 3; i + 1 < argc; i++)
                    if (Ascii.EqualsIgnoreCase(args.Get(i), "DB"u8)) CrossDatabaseKey(args, i + 1, 2, db, dbCount, ref visitor);
            }
            return;
        }
        if ((cmd.Flags & (CommandFlags.Write | CommandFlags.ReadOnly)) == 0) return;
        if (ReferenceEquals(cmd, s_flushall) || ReferenceEquals(cmd, s_swapdb)) visitor.AllDatabases();
        else if (ReferenceEquals(cmd, s_flushdb) || ReferenceEquals(cmd, s_keys) || ReferenceEquals(cmd, s_scan)
                 || ReferenceEquals(cmd, s_randomkey) || ReferenceEquals(cmd, s_dbsize)) visitor.WholeDatabase(db);
        else
        {
            // A keyless row that reads or writes keys: its keys are somewhere in its arguments. Taking
            // every argument for a key over-approximates safely (locks and undo copies of non-keys
            // cost a little and change nothing).
            for (int i = 1; i < argc; i++) visitor.Key(db, args.Get(i));
        }
    }

    /// <summary>MOVE key db / COPY ... DB db: the key argument in the database named by another argument.</summary>
    static void CrossDatabaseKey<T>(ArgList args, int dbArg, int keyArg, int db, int dbCount, ref T visitor) where T : struct, IKeyVisitor
    {
        if (Numbers.TryParseInt64(args.Get(dbArg), out long target) && target >= 0 && target < dbCount && target != db)
            visitor.Key((int)target, args.Get(keyArg));
    }
}
