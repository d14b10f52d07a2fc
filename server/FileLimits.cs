// The open-files limit (RLIMIT_NOFILE) that maxclients needs, as Redis's adjustOpenFilesLimit: every
// client is a file descriptor, plus a reserve for listeners, log, AOF/RDB files and the runtime. At
// start (and when CONFIG SET raises maxclients) the soft limit is raised if it is too low; when the OS
// refuses, maxclients is reduced to what the limit allows and the reason is logged.
using System.Runtime.InteropServices;
using NativeKv.Engine.Config;

namespace NativeKv.Server;

public static partial class FileLimits
{
    /// <summary>Descriptors kept for things other than clients (Redis's CONFIG_MIN_RESERVED_FDS).</summary>
    public const int ReservedFds = 32;

    const int RlimitNofile = 7;

    [StructLayout(LayoutKind.Sequential)]
    struct RLimit
    {
        public ulong Cur;
        public ulong Max;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    /// <summary>Makes room for maxclients descriptors, or lowers maxclients to fit (logging why).
    /// Returns false when not even the reserve fits: the server cannot start.</summary>
    public static bool Adjust(ServerConfig config)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return true;
        ulong maxFiles = (ulong)config.MaxClients + ReservedFds;
        if (GetRLimit(RlimitNofile, out var limit) != 0)
        {
            config.MaxClients = 1024 - ReservedFds;
            Log.Warning($"Unable to obtain the current NOFILE limit ({Marshal.GetLastPInvokeErrorMessage()}), assuming 1024 and setting the max clients configuration accordingly.");
            return true;
        }
        ulong old = limit.Cur;
        if (old >= maxFiles) return true;
        // Try the full need first, then a little less each time (16 at a step, as Redis), down to the
        // current limit. Raising the hard limit too works for a privileged process.
        ulong best = maxFiles;
        string error = "";
        while (best > old)
        {
            var wanted = new RLimit { Cur = best, Max = Math.Max(best, limit.Max) };
            if (SetRLimit(RlimitNofile, wanted) == 0) break;
            error = Marshal.GetLastPInvokeErrorMessage();
            if (best < 16)
            {
                best = old;
                break;
            }
            best -= 16;
        }
        if (best < old) best = old;
        if (best >= maxFiles)
        {
            Log.Notice($"Increased maximum number of open files to {maxFiles} (it was originally set to {old}).");
            return true;
        }
        int requested = config.MaxClients;
        if (best <= ReservedFds)
        {
            Log.Warning($"Your current 'ulimit -n' of {old} is not enough for the server to start. Please increase your open file limit to at least {maxFiles}. Exiting.");
            return false;
        }
        config.MaxClients = (int)(best - ReservedFds);
        Log.Warning($"You requested maxclients of {requested} requiring at least {maxFiles} max file descriptors.");
        Log.Warning($"Server can't set maximum open files to {maxFiles} because of OS error: {error}.");
        Log.Warning($"Current maximum open files is {best}. maxclients has been reduced to {config.MaxClients} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.");
        return true;
    }
}
