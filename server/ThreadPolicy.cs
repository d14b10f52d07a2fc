// The Linux scheduling policy of the server's threads (option `sched-policy normal|batch`, NativeKv's own).
//
// Why: on a machine with few cores, the client and the server's epoll threads share them. Under the normal
// policy, every wake-up of an epoll thread (a request arrived) may preempt whatever runs on that core,
// often the client that just sent the request or the thread holding a hot shard lock. SCHED_BATCH threads
// are treated as throughput work: their wake-ups do not preempt running tasks (they take a free core, or
// wait for the running task's slice), so more requests are ready per epoll_wait and the threads switch
// less. Unprivileged processes may choose it; nothing else about the threads changes (nice value, cores).
//
// The policy is per thread; threads inherit it from the thread that creates them. So it is set on every
// thread that exists when the server starts (before the listener creates the epoll threads), and every
// later thread (epoll, thread pool, AOF writer, Lua workers) inherits it.
using System.Runtime.InteropServices;

namespace NativeKv.Server;

public static partial class ThreadPolicy
{
    const int SchedOther = 0;
    const int SchedBatch = 3;

    [StructLayout(LayoutKind.Sequential)]
    struct SchedParam
    {
        public int Priority;
    }

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int SetScheduler(int pid, int policy, in SchedParam param);

    /// <summary>Applies <paramref name="policy"/> ("normal" or "batch") to every thread of the process;
    /// returns an error text, or null when applied (or when the OS has no such policy: not Linux).</summary>
    public static string? Apply(string policy)
    {
        if (!OperatingSystem.IsLinux()) return null;
        int value = policy == "batch" ? SchedBatch : SchedOther;
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories("/proc/self/task");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"Can't list the server's threads to set sched-policy {policy}: {e.Message}";
        }
        foreach (string task in tasks)
        {
            if (!int.TryParse(Path.GetFileName(task), out int tid)) continue;
            // A thread that ended meanwhile (ESRCH) is not an error.
            if (SetScheduler(tid, value, new SchedParam()) != 0 && Marshal.GetLastPInvokeError() != 3)
                return $"Can't set sched-policy {policy} on thread {tid}: {Marshal.GetLastPInvokeErrorMessage()}";
        }
        return null;
    }
}
