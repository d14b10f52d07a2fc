// Redis-style log lines: "pid:M dd Mon yyyy hh:mm:ss.mmm * message", with Redis's level marks
// (. debug, - verbose, * notice, # warning), `loglevel` (changeable with CONFIG SET) and `logfile`
// (empty: standard output; otherwise opened for appending at start, as Redis does).
using System.Globalization;

namespace NativeKv.Server;

public static class Log
{
    public const int LevelDebug = 0;
    public const int LevelVerbose = 1;
    public const int LevelNotice = 2;
    public const int LevelWarning = 3;

    static volatile int _level = LevelNotice;
    static TextWriter _out = Console.Out;
    static readonly Lock Sync = new();

    /// <summary>Writes text as it is (the banner), in order with the log lines.</summary>
    public static void Raw(string text)
    {
        lock (Sync) _out.WriteLine(text);
    }

    /// <summary>Sets the level and opens the log file; false (with the reason) when the file cannot be opened.</summary>
    public static bool Configure(string level, string file, out string? error)
    {
        SetLevel(level);
        error = null;
        if (string.IsNullOrEmpty(file)) return true;
        try
        {
            _out = new StreamWriter(new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>`loglevel`: debug, verbose, notice, warning (nothing: no lines at all).</summary>
    public static void SetLevel(string level) =>
        _level = level switch { "debug" => LevelDebug, "verbose" => LevelVerbose, "notice" => LevelNotice, "warning" => LevelWarning, _ => LevelWarning + 1 };

    /// <summary>Whether a line of this level is written: check it before building an expensive message.</summary>
    public static bool Enabled(int level) => level >= _level;

    public static void Debug(string m) => Write(LevelDebug, '.', m);
    public static void Verbose(string m) => Write(LevelVerbose, '-', m);
    public static void Notice(string m) => Write(LevelNotice, '*', m);
    public static void Warning(string m) => Write(LevelWarning, '#', m);

    static void Write(int level, char mark, string message)
    {
        if (level < _level) return;
        var now = DateTime.Now;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessId}:M {now:dd MMM yyyy HH:mm:ss.fff} {mark} {message}");
        lock (Sync) _out.WriteLine(line);
    }
}
