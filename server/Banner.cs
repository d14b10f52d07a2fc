// The startup banner: version, mode, port and PID. Like Redis, a drawn box only when a person is
// likely to read it (logging to standard output and that is a terminal); otherwise one log line
// ("Running mode=standalone, port=6379.") that log collectors can parse.
using NativeKv.Engine;
using NativeKv.Engine.Config;

namespace NativeKv.Server;

public static class Banner
{
    public static void Show(ServerConfig config, int port, bool toStdout)
    {
        if (!toStdout || Console.IsOutputRedirected || !Log.Enabled(Log.LevelNotice))
        {
            Log.Notice($"Running mode=standalone, port={port}.");
            return;
        }
        string[] lines =
        [
            $"NativeKv {ServerState.Version} (Redis {ServerState.RedisCompatVersion} compatible) 64 bit",
            $"Running in standalone mode",
            $"Port: {port}",
            $"PID: {Environment.ProcessId}",
            $"Config: {(string.IsNullOrEmpty(config.ConfigFile) ? "(none)" : config.ConfigFile)}",
        ];
        int width = lines.Max(l => l.Length) + 4;
        var text = new System.Text.StringBuilder();
        text.Append("  +").Append('-', width).Append("+\n");
        foreach (var l in lines) text.Append("  |  ").Append(l.PadRight(width - 2)).Append("|\n");
        text.Append("  +").Append('-', width).Append('+');
        Log.Raw(text.ToString());
    }
}
