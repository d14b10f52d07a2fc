// The state every command can reach: the keyspace, the configuration, the connected clients and the
// server-wide statistics. One instance per process, created by the server (or by a test).
using System.Collections.Concurrent;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Keyspace;

namespace NativeKv.Engine;

public sealed class ServerState : IDisposable
{
    public readonly ServerConfig Config;
    public readonly Store Store;

    /// <summary>ACL users, authentication and permission checks (Security/Acl.cs).</summary>
    public readonly Security.Acl Acl;

    /// <summary>Clients blocked in BLPOP and friends, and the keys that may wake them.</summary>
    public readonly BlockingRegistry Blocking;

    /// <summary>Channels, patterns, shard channels and MONITOR clients (PubSub/PubSubHub.cs).</summary>
    public readonly PubSub.PubSubHub PubSub = new();
    public readonly ConcurrentDictionary<long, ClientState> Clients = new();
    public readonly long StartedMs = Clock.UnixMs();
    public readonly string RunId = Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant() + Convert.ToHexString(BitConverter.GetBytes(Environment.TickCount64)).ToLowerInvariant()[..8];

    // Statistics (INFO stats). Updated with interlocked adds off the per-command path where possible.
    public long TotalConnections;
    public long RejectedConnections;
    public long TotalCommands;
    public long TotalErrorReplies;
    public long NetInputBytes;
    public long NetOutputBytes;
    public long EvictedKeys;
    long _peakMemory;

    /// <summary>Set by the server: requests a graceful shutdown (SHUTDOWN command). The argument says
    /// whether to save a snapshot: true (SAVE), false (NOSAVE), null (per configuration).</summary>
    public Action<bool?>? RequestShutdown;

    /// <summary>AOF, RDB and loading; null when the server runs without persistence (unit tests).</summary>
    public Persistence.PersistenceManager? Persistence;

    /// <summary>Called after CONFIG SET changed parameters, so that running parts pick them up.</summary>
    public Action? ConfigChanged;

    /// <summary>Runs EVAL/FCALL and keeps the script caches (the Lua host in interop/); null when the
    /// server runs without scripting (the script commands then answer an error).</summary>
    public Scripting.IScriptHost? ScriptHost;

    /// <summary>The scripts running now: their held shard locks (for -BUSY and the gate) and SCRIPT KILL.</summary>
    public readonly Scripting.ScriptRegistry RunningScripts = new();

    /// <summary>
    /// Called when a script commits, before its locks are released, with the write commands it ran in
    /// order ("effects, not source"): the AOF appends them as one MULTI/EXEC unit. Plain per-command
    /// logging must skip clients with <see cref="Commands.ClientState.InScript"/> set. Returns the unit's
    /// LSN: under appendfsync always the caller's reply waits for it (0: nothing to wait for).
    /// </summary>
    public Func<Scripting.ScriptEffects, long>? ScriptCommitted;

    /// <summary>Version text for INFO and --version.</summary>
    public static string Version => typeof(ServerState).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The Redis version NativeKv answers as, so that clients enable the Redis 7.0 feature set.</summary>
    public const string RedisCompatVersion = "7.0.15";

    public ServerState(ServerConfig config, bool startCron = true)
    {
        Types.TypeRegistry.EnsureRegistered();
        Config = config;
        Store = new Store(config.Databases, config.Hz, startCron);
        Blocking = new BlockingRegistry(this);
        Acl = new Security.Acl(this);
        Pause = new ClientPause(this);
        Metrics = new InstantaneousMetrics(this, startCron);
        ApplyConfig();
    }

    /// <summary>CLIENT PAUSE state; the dispatcher reads Pause.Mode once per command.</summary>
    public readonly ClientPause Pause;
    public readonly SlowLog SlowLog = new();
    public readonly LatencyMonitor Latency = new();

    /// <summary>Clients waiting in WAIT (counted in INFO's blocked_clients, as Redis).</summary>
    public int WaitingClients;

    /// <summary>INFO's instantaneous rates, sampled every 100 ms (only with the cron: not in unit tests).</summary>
    public readonly InstantaneousMetrics Metrics;

    /// <summary>A command that ran at least this many Stopwatch ticks goes to the slow log and/or the
    /// latency monitor (the smaller of both thresholds; long.MaxValue when both are off).</summary>
    public long SlowTicks = long.MaxValue;

    /// <summary>latency-tracking: per-command latency histograms (INFO latencystats).</summary>
    public bool LatencyTracking;
    public double[] LatencyPercentiles = [50, 99, 99.9];

    /// <summary>maxmemory in bytes (0: no limit) and its policy, read once per command.</summary>
    public long MaxMemory;
    public Keyspace.EvictionPolicy EvictionPolicy;
    public int EvictionSamples;

    /// <summary>Takes in configuration values that running parts cache (after start and CONFIG SET).</summary>
    public void ApplyConfig()
    {
        MaxMemory = Config.MaxMemory;
        EvictionPolicy = Keyspace.Evictor.Parse(Config.MaxMemoryPolicy);
        EvictionSamples = Config.MaxMemorySamples;
        Keyspace.Shard.LfuEnabled = EvictionPolicy is Keyspace.EvictionPolicy.AllKeysLfu or Keyspace.EvictionPolicy.VolatileLfu;
        Keyspace.Shard.LruOrderKept = MaxMemory > 0 && EvictionPolicy is Keyspace.EvictionPolicy.AllKeysLru or Keyspace.EvictionPolicy.VolatileLru;
        Acl.ApplyRequirePass(Config.RequirePass);
        Memory.PagePool.HugePages = Config.ArenaHugePages;
        long slow = Config.SlowlogLogSlowerThan < 0 ? long.MaxValue : Config.SlowlogLogSlowerThan * System.Diagnostics.Stopwatch.Frequency / 1_000_000;
        long latency = Config.LatencyMonitorThreshold <= 0 ? long.MaxValue : Config.LatencyMonitorThreshold * System.Diagnostics.Stopwatch.Frequency / 1000;
        SlowTicks = Math.Min(slow, latency);
        LatencyTracking = Config.LatencyTracking;
        LatencyPercentiles = Config.LatencyTrackingPercentiles;
        SlowLog?.Trim(Config.SlowlogMaxLen);
        global::NativeKv.Engine.PubSub.KeyspaceEvents.Hub = PubSub;
        global::NativeKv.Engine.PubSub.KeyspaceEvents.Flags = Config.NotifyKeyspaceEvents;
        global::NativeKv.Engine.PubSub.OutputLimits.Normal = Config.OutputLimitNormal;
        global::NativeKv.Engine.PubSub.OutputLimits.Replica = Config.OutputLimitReplica;
        global::NativeKv.Engine.PubSub.OutputLimits.PubSub = Config.OutputLimitPubSub;
        ConfigChanged?.Invoke();
    }

    public int ConnectedClients => Clients.Count;

    /// <summary>Memory in use: the keyspace's native allocations plus connection buffers.</summary>
    public long UsedMemory
    {
        get
        {
            long used = Memory.MemoryCounters.Used;
            long peak = Volatile.Read(ref _peakMemory);
            if (used > peak) Interlocked.CompareExchange(ref _peakMemory, used, peak);
            return used;
        }
    }

    public long PeakMemory => Math.Max(Volatile.Read(ref _peakMemory), UsedMemory);

    public void Dispose()
    {
        Metrics.Dispose();
        Blocking.Dispose();
        Store.Dispose();
    }
}
