// The process-wide pool of arena pages. Pages are carved from 2 MiB chunks mapped straight from the OS
// (mmap), so they are 64 KiB-aligned without the padding and heap fragmentation an aligned malloc costs.
// A page an arena gives back returns here: its memory is released to the OS at once (MADV_DONTNEED)
// beyond a few warm pages, and a chunk whose pages are all free is unmapped. So RSS follows the data:
// after deletes or FLUSHALL it drops back, and what the arenas hold is what the process holds.
//
// Taking and returning pages is rare (once per 64 KiB of data), so one lock is plenty.
using System.Runtime.InteropServices;

namespace NativeKv.Engine.Memory;

public static unsafe class PagePool
{
    public const int PageSize = SlabArena.PageSize;

    /// <summary>Chunk size: 32 pages, one mmap, aligned to itself so a page finds its chunk by a mask.</summary>
    const int ChunkSize = 2 * 1024 * 1024;
    const int PagesPerChunk = ChunkSize / PageSize;

    /// <summary>Free pages kept resident for reuse (4 MiB): absorbs allocation churn without madvise and
    /// page faults (perf Arena.AllocFreeBatch: 16 warm pages cost ~3.5 us per 4 KB block under churn),
    /// while RSS still follows the data within a few megabytes.</summary>
    const int WarmPages = 64;

    static readonly Lock Sync = new();
    static byte* _freeWarm;      // free pages still resident (singly linked through their first word)
    static byte* _freeCold;      // free pages released to the OS (their memory reads as zero again)
    static int _warmCount;
    static readonly Dictionary<nint, int> FreeInChunk = new(); // chunk base -> free pages in it

    static bool UseMmap => OperatingSystem.IsLinux();

    const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MadvDontNeed = 4, MadvHugePage = 14, MadvNoHugePage = 15;

    static readonly HashSet<nint> HugeChunks = []; // chunks still advised MADV_HUGEPAGE

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    static extern nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "munmap", SetLastError = true)]
    static extern int Munmap(nint addr, nuint length);

    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    static extern int Madvise(nint addr, nuint length, int advice);

    /// <summary>Option `arena-huge-pages`: chunks mapped from now on are advised MADV_HUGEPAGE.</summary>
    public static volatile bool HugePages = true;

    /// <summary>Bytes mapped from the OS for pages (chunks), used or free.</summary>
    public static long MappedBytes;

    public static void* Rent()
    {
        if (!UseMmap) return NativeMemory.AlignedAlloc(PageSize, PageSize);
        lock (Sync)
        {
            byte* p = _freeWarm;
            if (p != null)
            {
                _freeWarm = *(byte**)p;
                _warmCount--;
            }
            else if ((p = _freeCold) != null)
            {
                _freeCold = *(byte**)p;
            }
            else
            {
                p = MapChunk();
            }
            nint chunk = (nint)p & ~(nint)(ChunkSize - 1);
            FreeInChunk[chunk]--;
            return p;
        }
    }

    public static void Return(void* page)
    {
        if (!UseMmap)
        {
            NativeMemory.AlignedFree(page);
            return;
        }
        lock (Sync)
        {
            byte* p = (byte*)page;
            nint chunk = (nint)p & ~(nint)(ChunkSize - 1);
            int free = ++CollectionsMarshal.GetValueRefOrNullRef(FreeInChunk, chunk);
            if (free == PagesPerChunk)
            {
                UnmapChunk(chunk);
                return;
            }
            if (_warmCount < WarmPages)
            {
                *(byte**)p = _freeWarm;
                _freeWarm = p;
                _warmCount++;
            }
            else
            {
                // The first page given back to the OS splits the chunk's huge page; the chunk is then
                // marked so that khugepaged does not collapse it again (which would fill the released
                // pages with zeros and put them back in RSS).
                if (HugeChunks.Remove(chunk)) Madvise(chunk, ChunkSize, MadvNoHugePage);
                Madvise((nint)p, PageSize, MadvDontNeed);
                *(byte**)p = _freeCold; // touches one OS page again; the other 15 stay released
                _freeCold = p;
            }
        }
    }

    static byte* MapChunk()
    {
        // Map twice the size, keep the aligned 2 MiB inside, unmap the rest.
        nint raw = Mmap(0, (nuint)(2 * ChunkSize), ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (raw == -1) throw new OutOfMemoryException("mmap failed for an arena chunk");
        nint aligned = (raw + ChunkSize - 1) & ~(nint)(ChunkSize - 1);
        if (aligned > raw) Munmap(raw, (nuint)(aligned - raw));
        nint tail = aligned + ChunkSize;
        nint end = raw + 2 * ChunkSize;
        if (end > tail) Munmap(tail, (nuint)(end - tail));
        // A chunk is a 2 MiB-aligned 2 MiB range: with transparent huge pages in madvise mode (Debian's
        // default) it can be one TLB entry instead of 512. Random walks over a large keyspace or skiplist
        // miss the TLB on nearly every node otherwise (perf/RESULTS.md: -P 16 ZADD on 100,000 members
        // +15-20%, server CPU -15%). No fork here, so Redis's reason to disable THP (copy-on-write of
        // huge pages while a child saves) does not apply.
        if (HugePages)
        {
            Madvise(aligned, ChunkSize, MadvHugePage);
            HugeChunks.Add(aligned);
        }
        Interlocked.Add(ref MappedBytes, ChunkSize);
        FreeInChunk[aligned] = PagesPerChunk;
        // Pages 1..n go to the free list (cold: never touched); page 0 is returned.
        for (int i = PagesPerChunk - 1; i >= 1; i--)
        {
            byte* page = (byte*)aligned + (long)i * PageSize;
            *(byte**)page = _freeCold;
            _freeCold = page;
        }
        return (byte*)aligned;
    }

    static void UnmapChunk(nint chunk)
    {
        // Unlink the chunk's other pages from both free lists, then give the whole chunk back.
        _freeWarm = Unlink(_freeWarm, chunk, ref _warmCount);
        int dummy = 0;
        _freeCold = Unlink(_freeCold, chunk, ref dummy);
        FreeInChunk.Remove(chunk);
        HugeChunks.Remove(chunk);
        Munmap(chunk, ChunkSize);
        Interlocked.Add(ref MappedBytes, -ChunkSize);
    }

    static byte* Unlink(byte* head, nint chunk, ref int count)
    {
        byte* newHead = null, tail = null;
        for (byte* p = head; p != null;)
        {
            byte* next = *(byte**)p;
            if (((nint)p & ~(nint)(ChunkSize - 1)) == chunk)
            {
                count--;
            }
            else
            {
                if (tail == null) newHead = p; else *(byte**)tail = p;
                tail = p;
            }
            p = next;
        }
        if (tail != null) *(byte**)tail = null;
        return newHead;
    }
}
