// Redis-style log lines: "pid:M dd Mon yyyy hh:mm:ss.mmm * message", with Redis's level marks
// (. debug, - verbose, * notice, # warning) and loglevel/logfile from the configuration.
using System.Globalization;

namespace NativeKv.Server;

public static class Log
{
    static int _level = 2;
    static TextWriter _out = Console.Out;
    static readonly Lock Sync = new();

    public static void Configure(string level, string file)
    {
        _level = level switch { "debug" => 0, "verbose" => 1, "notice" => 2, "warning" => 3, _ => 4 };
        if (!string.IsNullOrEmpty(file))
            _out = new StreamWriter(new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    public static void Debug(string m) => Write(0, '.', m);
    public static void Verbose(string m) => Write(1, '-', m);
    public static void Notice(string m) => Write(2, '*', m);
    public static void Warning(string m) => Write(3, '#', m);

    static void Write(int level, char mark, string message)
    {
        if (level < _level) return;
        var now = DateTime.Now;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessId}:M {now:dd MMM yyyy HH:mm:ss.fff} {mark} {message}");
        lock (Sync) _out.WriteLine(line);
    }
}
