// Making file contents and names durable. On Linux: fdatasync for data (what Redis's redis_fsync is),
// and fsync of the directory after creating or renaming a file in it (so the new name survives a crash).
// Elsewhere: RandomAccess.FlushToDisk, and no directory sync (not available there).
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NativeKv.Engine.Persistence;

public static partial class FileSync
{
    /// <summary>Flushes a file's data (and the metadata needed to read it back) to the device.</summary>
    public static void DataSync(SafeFileHandle file)
    {
        if (OperatingSystem.IsLinux())
        {
            if (fdatasync((int)file.DangerousGetHandle()) != 0)
                throw new IOException($"fdatasync failed: {Marshal.GetLastPInvokeErrorMessage()}", Marshal.GetLastPInvokeError());
            return;
        }
        RandomAccess.FlushToDisk(file);
    }

    /// <summary>Makes the entries of a directory (files created, renamed or deleted in it) durable.</summary>
    public static void SyncDirectory(string dir)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = open(dir, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"Can't open directory {dir} to fsync it: {Marshal.GetLastPInvokeErrorMessage()}");
        try
        {
            if (fsync(fd) != 0) throw new IOException($"fsync of directory {dir} failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>Writes a whole small file durably: temp file, fsync, rename over the target, fsync the
    /// directory (the manifest and similar).</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string temp = Path.Combine(dir, "temp-" + Path.GetFileName(path));
        using (var h = File.OpenHandle(temp, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(h, content, 0);
            DataSync(h);
        }
        File.Move(temp, path, overwrite: true);
        SyncDirectory(dir);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
