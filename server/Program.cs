// nativekv: the server's entry point. Reads the configuration (a redis.conf-style file and/or --options),
// binds, loads the dataset (AOF or RDB), serves until SIGTERM/SIGINT/SHUTDOWN, then stops gracefully: no
// new connections, the commands already read are answered, the final RDB is written (when save points are
// set or SHUTDOWN SAVE asked for it) and the AOF is written and fsynced; exit code 0.
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeKv.Engine;
using NativeKv.Engine.Config;
using NativeKv.Engine.Persistence;
using NativeKv.Server;

// Run socket completions inline on the epoll threads instead of handing each one to the thread pool:
// measured 13.4 -> 7.6 us of server CPU per unpipelined request (perf/RESULTS.md). Commands never block
// those threads for long: scripts run on their own workers and fsync waits resume clients later. Must be
// set before the first socket is created; an explicit setting in the environment wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == null)
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

if (args.Length == 1 && (args[0] is "--version" or "-v"))
{
    Console.WriteLine(VersionText());
    return 0;
}
if (args.Length == 1 && (args[0] is "--help" or "-h"))
{
    Console.WriteLine("Usage: nativekv [/path/to/redis.conf] [--option value ...]\n       nativekv --version\n\nOptions take redis.conf names, e.g. --port 6380 --bind 127.0.0.1 --maxmemory 100mb\nSupported: " + string.Join(", ", ServerConfig.Names));
    return 0;
}

ServerConfig config;
try
{
    config = ServerConfig.FromArgs(args);
}
catch (ConfigException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

if (!Log.Configure(config.LogLevel, config.LogFile, out string? logError))
{
    Console.Error.WriteLine($"Can't open the log file: {logError}");
    return 1;
}
Log.Notice("oO0OoO0OoO0Oo NativeKv is starting oO0OoO0OoO0Oo");
Log.Notice($"NativeKv version={ServerState.Version}, redis-compat={ServerState.RedisCompatVersion}, bits=64, pid={Environment.ProcessId}, just started");
Log.Notice(string.IsNullOrEmpty(config.ConfigFile)
    ? "Warning: no config file specified, using the default config. In order to specify a config file use nativekv /path/to/nativekv.conf"
    : "Configuration loaded");
// io-threads: how many epoll threads the runtime's socket engine starts (read when the first socket
// registers, below); an explicit DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT in the environment wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT") == null)
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT", config.IoThreads.ToString(System.Globalization.CultureInfo.InvariantCulture));
if (!FileLimits.Adjust(config)) return 1;
IdlePoll.Configure(config.IdlePollUs);
if (ThreadPolicy.Apply(config.SchedPolicy) is { } schedError)
{
    Log.Warning(schedError);
    return 1;
}
// CONFIG SET maxclients: raise the open-files limit to match, or refuse as Redis does.
config.MaxClientsChanged = previous =>
{
    int wanted = config.MaxClients;
    FileLimits.Adjust(config);
    if (config.MaxClients == wanted) return null;
    string refused = $"The operating system is not able to handle the specified number of clients, try with {config.MaxClients}";
    Log.Warning("Failed applying new configuration. Possibly related to new maxclients setting. Restoring previous settings.");
    if (config.MaxClients > previous)
    {
        config.MaxClients = previous;
        FileLimits.Adjust(config);
    }
    return refused;
};

using var server = new ServerState(config);
server.ConfigChanged += () => Log.SetLevel(config.LogLevel);
if (server.Acl.LoadAtStartup() is { } aclError)
{
    Log.Warning(aclError);
    return 1;
}
NativeKv.Interop.Lua.LuaHostLog.Sink = (level, message) =>
{
    switch (level)
    {
        case 0: Log.Debug(message); break;
        case 1: Log.Verbose(message); break;
        case 2: Log.Notice(message); break;
        default: Log.Warning(message); break;
    }
};
using var scripts = new NativeKv.Interop.ScriptHost(server);
server.ScriptHost = scripts;
var listener = new Listener(server);
try
{
    listener.Bind();
}
catch (InvalidOperationException e)
{
    Log.Warning(e.Message);
    return 1;
}

var persistence = new PersistenceManager(server)
{
    Notice = Log.Notice,
    Warning = Log.Warning,
    // A failed write or fsync under appendfsync always: stop rather than acknowledge what is not on disk.
    Fatal = message =>
    {
        Log.Warning(message);
        Environment.Exit(1);
    },
};
try
{
    persistence.LoadAtStartup();
    persistence.Start();
}
catch (Exception e) when (e is PersistenceException or IOException or UnauthorizedAccessException)
{
    Log.Warning(e.Message);
    return 1;
}

if (!string.IsNullOrEmpty(config.PidFile))
{
    // As Redis: a PID file that cannot be written is logged, not fatal.
    try { File.WriteAllText(config.PidFile, Environment.ProcessId + "\n"); }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Log.Warning($"Failed to write PID file: {e.Message}"); }
}

var stop = new ManualResetEventSlim();
bool? saveOnShutdown = null;
server.RequestShutdown = save =>
{
    saveOnShutdown = save;
    stop.Set();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    Log.Warning("Received SIGTERM scheduling shutdown...");
    stop.Set();
});
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
{
    ctx.Cancel = true;
    Log.Warning("Received SIGINT scheduling shutdown...");
    stop.Set();
});
// As Redis: SIGHUP (a closed terminal, a supervisor's reload) is ignored rather than fatal.
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx => ctx.Cancel = true);

listener.Start();
Banner.Show(config, listener.Port, string.IsNullOrEmpty(config.LogFile));
Log.Notice("Server initialized");
Log.Notice($"Ready to accept connections tcp on {string.Join(' ', config.Bind)} port {listener.Port}");

stop.Wait();
Log.Warning("User requested shutdown...");
// Scripts still running are stopped (and rolled back) so that their locks do not hold up shutdown.
server.RunningScripts.KillAll();
listener.Stop(TimeSpan.FromSeconds(2));
bool persisted = persistence.Shutdown(saveOnShutdown);
if (!string.IsNullOrEmpty(config.PidFile))
{
    try { File.Delete(config.PidFile); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
}
if (!persisted)
{
    Log.Warning("Errors trying to shut down the server: the final RDB snapshot could not be written (the AOF, if enabled, is complete). Exiting with code 1.");
    return 1;
}
Log.Warning("NativeKv is now ready to exit, bye bye...");
return 0;

static string VersionText()
{
    var asm = typeof(ServerState).Assembly;
    string info = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? ServerState.Version;
    string lua = NativeKv.Interop.LuaInfo.Version();
    string aot = RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "Native AOT";
    return $"nativekv v={ServerState.Version} build={info} {lua} runtime=.NET {Environment.Version} ({aot}) arch={RuntimeInformation.ProcessArchitecture} redis-compat={ServerState.RedisCompatVersion}";
}
