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

    /// <summary>
    /// Allocates disk blocks for [offset, offset + length) without changing the file's size
    /// (fallocate FALLOC_FL_KEEP_SIZE; Linux). An append-only file then grows into blocks it already has,
    /// so each fdatasync commits less (measured on this ext4: ~150 vs ~190 us per append and sync), and
    /// readers (redis-check-aof, a restart) still see exactly the bytes written. False when the file
    /// system or OS does not support it.
    /// </summary>
    public static bool Reserve(SafeFileHandle file, long offset, long length)
    {
        if (!OperatingSystem.IsLinux()) return false;
        return fallocate((int)file.DangerousGetHandle(), 1 /* FALLOC_FL_KEEP_SIZE */, offset, length) == 0;
    }

    /// <summary>Gives back blocks reserved past <paramref name="length"/> and cuts the file there (ext4
    /// frees blocks past the end even when the size does not change).</summary>
    public static void ReleaseReserve(SafeFileHandle file, long length)
    {
        if (OperatingSystem.IsLinux()) ftruncate((int)file.DangerousGetHandle(), length);
        else if (RandomAccess.GetLength(file) != length) RandomAccess.SetLength(file, length);
    }

    /// <summary>Cuts the file to <paramref name="length"/> bytes.</summary>
    public static void Truncate(SafeFileHandle file, long length)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.SetLength(file, length);
            return;
        }
        if (ftruncate((int)file.DangerousGetHandle(), length) != 0)
            throw new IOException($"ftruncate failed: {Marshal.GetLastPInvokeErrorMessage()}", Marshal.GetLastPInvokeError());
    }

    // ---------------------------------------------------------------- direct, synchronous writes

    /// <summary>Block size that direct writes align their offset, length and buffer to.</summary>
    public const int DirectBlock = 4096;

    /// <summary>
    /// Opens a second descriptor of <paramref name="file"/> for direct, synchronous writes (O_DIRECT |
    /// O_DSYNC, read-write): a pwrite on it returns once its data and the file size are on the device, with
    /// no fdatasync and no page cache. Measured on this VM's ext4 (perf/RESULTS.md, ninth session): 77-87 us
    /// per append against 115-124 us for write + fdatasync. -1 where unsupported (not Linux, an unknown
    /// architecture, a file system without O_DIRECT such as tmpfs).
    /// </summary>
    public static int OpenDirect(SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux()) return -1;
        int oDirect = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 => 0x4000,       // 040000
            Architecture.Arm64 or Architecture.Arm => 0x10000,    // 0200000
            _ => 0,
        };
        if (oDirect == 0) return -1;
        const int ORdWr = 2, ODsync = 0x1000, OCloexec = 0x80000;
        return open($"/proc/self/fd/{(int)file.DangerousGetHandle()}", ORdWr | oDirect | ODsync | OCloexec);
    }

    /// <summary>Writes all of [buf, buf + len) at <paramref name="offset"/> on a descriptor from
    /// OpenDirect. False when the kernel refuses the alignment (EINVAL: nothing was written); throws on
    /// any other failure.</summary>
    public static unsafe bool WriteDirect(int fd, byte* buf, int len, long offset)
    {
        while (len > 0)
        {
            nint n = pwrite(fd, buf, len, offset);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == 4 /* EINTR */) continue;
                if (errno == 22 /* EINVAL */) return false;
                throw new IOException($"write failed: {Marshal.GetLastPInvokeErrorMessage()}", errno);
            }
            if (n == 0) throw new IOException("write failed: no progress");
            buf += n;
            len -= (int)n;
            offset += n;
        }
        return true;
    }

    /// <summary>Reads up to <paramref name="len"/> bytes at <paramref name="offset"/> from a descriptor
    /// from OpenDirect (aligned buffer, offset and length); returns the count read (less at the end).</summary>
    public static unsafe int ReadDirect(int fd, byte* buf, int len, long offset)
    {
        int total = 0;
        while (total < len)
        {
            nint n = pread(fd, buf + total, len - total, offset + total);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == 4) continue;
                throw new IOException($"read failed: {Marshal.GetLastPInvokeErrorMessage()}", Marshal.GetLastPInvokeError());
            }
            if (n == 0) break;
            total += (int)n;
        }
        return total;
    }

    public static void CloseDirect(int fd)
    {
        if (fd >= 0) close(fd);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint pwrite(int fd, byte* buf, nint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint pread(int fd, byte* buf, nint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fallocate(int fd, int mode, long offset, long len);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ftruncate(int fd, long length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
