// Giving memory back to the OS. Freed arena pages and tables go back to glibc's malloc, which keeps
// them in its heap; malloc_trim(0) returns every free heap page (including ones in the middle of the
// heap, by MADV_DONTNEED), so RSS drops after FLUSHALL or a large delete as users expect.
using System.Runtime.InteropServices;

namespace NativeKv.Engine.Memory;

public static partial class OsMemory
{
    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    static bool _unavailable;

    /// <summary>Returns free heap memory to the OS; a no-op where the C library has no malloc_trim.</summary>
    public static void Trim()
    {
        if (_unavailable || !OperatingSystem.IsLinux()) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
        }
    }

    /// <summary>Resident set size of this process in bytes (from /proc/self/statm), or 0 if unknown.</summary>
    public static long ResidentBytes()
    {
        try
        {
            var text = File.ReadAllText("/proc/self/statm");
            var parts = text.Split(' ');
            return long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return System.Diagnostics.Process.GetCurrentProcess().WorkingSet64;
        }
    }
}
