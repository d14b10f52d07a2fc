// Slab arena: the native memory every stored key and value lives in.
//
// Small allocations are served from size classes about 1.25x apart, each class carving fixed-size
// slots out of 64 KiB pages that are aligned to their size, so that a slot finds its page header with
// one mask. Each page keeps its own free list (as mimalloc does): freeing never walks anything, and a
// page whose last slot is freed goes straight back to the OS, so memory returns after deletes and
// FLUSHALL. Allocations larger than the biggest class go to the OS on their own.
//
// Every page and large block also has an index in the arena's block table, so that a block can be named
// by a 32-bit handle instead of a 64-bit pointer: the keyspace links its entries (hash chains, LRU list)
// by handle, which is what brings a small key under 64 bytes. A handle is (block index << 13) | (offset
// in the block / 8); resolving it is one table load and an add, and a pointer finds its handle through
// its page header (or the prefix in front of a large block). Large blocks get a table slot like pages
// (one uniform resolve, no branch) rather than being kept out of entries: an entry with a 1 MB string
// stays one allocation that GET copies from once. Block index 0 is never used, so handle 0 is null.
//
// An arena is not thread-safe: each shard owns one and uses it under the shard lock. The arena counts
// exactly what it holds (whole pages, large blocks), which is what `used_memory` reports.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeKv.Engine.Memory;

public unsafe sealed class SlabArena : IDisposable
{
    /// <summary>Page size: large enough that a page holds at least four slots of the biggest class, small
    /// enough that an almost empty shard does not pin much memory.</summary>
    public const int PageSize = 64 * 1024;

    /// <summary>Largest slot served from pages; anything larger is a block of its own.</summary>
    public const int MaxSmallSize = 16 * 1024;

    /// <summary>Slot alignment and the granularity of the size-class lookup table.</summary>
    const int Granule = 8;

    static readonly int[] ClassSizes = BuildClassSizes();
    static readonly byte[] ClassBySize = BuildClassLookup();

    public static int ClassCount => ClassSizes.Length;

    // Per class: the page allocations currently come from (_classes[cls]), and a list of non-full pages
    // (_classes[ClassCount + cls]). Native and made on the first page: 16 databases of 64 shards each made
    // 1.2 MB of managed arrays at startup (idle RSS), most of them for shards that never store a key. An
    // arena without pages points at a shared table of nulls, which only reads.
    PageHeader** _classes = EmptyClassTable;
    static readonly PageHeader** EmptyClassTable = (PageHeader**)NativeMemory.AllocZeroed((nuint)ClassTableBytes);
    static int ClassTableBytes => 2 * ClassSizes.Length * sizeof(nint);
    PageHeader* _allPages; // every page, for Dispose and Reset

    // The block table: the base address of every page and large block, by block index. A free slot holds
    // (next free index << 1) | 1 (bases are 16-byte aligned, so bit 0 tells them apart). Slot 0 is always
    // null, which makes handle 0 resolve to null; an arena without blocks points at a shared one-slot table.
    byte** _blocks = EmptyBlockTable;
    int _blockCapacity = 1;
    int _blockTop = 1;       // slots below this have been used
    int _freeBlock;          // head of the free-slot list, 0 when empty
    int _liveBlocks;
    static readonly byte** EmptyBlockTable = (byte**)NativeMemory.AllocZeroed((nuint)sizeof(nint));

    /// <summary>Bits of a handle that hold the offset in its block, in units of <see cref="Granule"/>.</summary>
    public const int HandleOffsetBits = 13;

    /// <summary>Block indices a handle can name (19 bits): 32 GiB of pages per arena, one arena per shard.</summary>
    public const int MaxBlocks = 1 << (32 - HandleOffsetBits);

    /// <summary>The prefix in front of a large block: its block index, padded to keep 16-byte alignment.</summary>
    const int LargePrefix = 16;

    long _pageBytes;
    long _largeBytes;
    long _liveBytes;

    long _tableBytes;

    /// <summary>Bytes this arena holds from the OS: whole pages, large blocks and the block table.</summary>
    public long AllocatedBytes => _pageBytes + _largeBytes + _tableBytes;

    /// <summary>Bytes handed out to callers (rounded to their size class): what used_memory counts.</summary>
    public long LiveBytes => _liveBytes;

    /// <summary>Live-byte changes not yet added to the process-wide counter.</summary>
    long _unreported;

    /// <summary>Batch size for reporting to the shared counter: one interlocked add per 4 KiB of change
    /// instead of one per allocation; the shared total is off by less than this per shard.</summary>
    const int ReportBatch = 4096;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void Count(long delta)
    {
        _liveBytes += delta;
        _unreported += delta;
        if (_unreported > ReportBatch || _unreported < -ReportBatch) FlushCounters();
    }

    /// <summary>Adds the pending live-byte change to the process-wide used-memory counter.</summary>
    public void FlushCounters()
    {
        if (_unreported == 0) return;
        MemoryCounters.AddKeyspace(_unreported);
        _unreported = 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct PageHeader
    {
        public PageHeader* NextPage;     // all-pages list
        public PageHeader* PrevPage;
        public PageHeader* NextPartial;  // class partial list (pages with free slots, not current)
        public PageHeader* PrevPartial;
        public byte* FreeList;           // slots returned to this page
        public byte* Bump;               // never-used space starts here
        public int Live;                 // slots in use
        public int ClassIndex;
        public int SlotSize;
        public int InPartial;            // 1 while linked in the partial list
        public int Index;                // slot in the block table
    }

    static int HeaderSize => (sizeof(PageHeader) + 15) & ~15;

    static int[] BuildClassSizes()
    {
        var sizes = new List<int>();
        int s = 16;
        while (s <= MaxSmallSize)
        {
            sizes.Add(s);
            // Step by an eighth of the size rounded down to the granule (at least one granule): classes
            // are at most 1.125x apart (jemalloc: ~1.25x), so rounding wastes under 12.5%; sizes up to
            // 128 bytes get every 8 bytes (small keys' entries are 40 to 80).
            s += Math.Max(Granule, (s / 8) & ~(Granule - 1));
        }
        if (sizes[^1] != MaxSmallSize) sizes.Add(MaxSmallSize);
        return sizes.ToArray();
    }

    static byte[] BuildClassLookup()
    {
        var table = new byte[MaxSmallSize / Granule + 1];
        int c = 0;
        for (int i = 0; i < table.Length; i++)
        {
            int size = i * Granule;
            while (ClassSizes[c] < size) c++;
            table[i] = (byte)c;
        }
        return table;
    }

    /// <summary>The number of bytes an allocation of <paramref name="size"/> really takes (a large block's
    /// prefix aside: like a page header, it counts in the pages the arena holds, not in used_memory).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint RoundedSize(nuint size)
    {
        if (size <= MaxSmallSize)
            return (nuint)ClassSizes[ClassBySize[((int)size + Granule - 1) / Granule]];
        return (size + 15) & ~(nuint)15;
    }

    // ---------------------------------------------------------------- handles

    /// <summary>The block a handle names (null for handle 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Resolve(uint handle) => _blocks[handle >> HandleOffsetBits] + ((handle & ((1u << HandleOffsetBits) - 1)) << 3);

    /// <summary>The handle of a block this arena handed out; <paramref name="size"/> is its allocation size
    /// (it tells a page slot from a large block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint HandleOf(void* p, nuint size)
    {
        if (size > MaxSmallSize)
            return ((uint)*(int*)((byte*)p - LargePrefix) << HandleOffsetBits) | (LargePrefix / Granule);
        PageHeader* page = (PageHeader*)((nuint)p & ~(nuint)(PageSize - 1));
        return ((uint)page->Index << HandleOffsetBits) | (uint)(((byte*)p - (byte*)page) / Granule);
    }

    int TakeBlockIndex(byte* block)
    {
        int index = _freeBlock;
        if (index != 0)
        {
            _freeBlock = (int)((nuint)_blocks[index] >> 1);
        }
        else
        {
            if (_blockTop == _blockCapacity) GrowBlockTable();
            index = _blockTop++;
        }
        _blocks[index] = block;
        _liveBlocks++;
        return index;
    }

    void ReleaseBlockIndex(int index)
    {
        _blocks[index] = (byte*)(((nuint)_freeBlock << 1) | 1);
        _freeBlock = index;
        if (--_liveBlocks == 0) FreeBlockTable(); // an emptied arena (FLUSHALL, DEL of everything) keeps nothing
    }

    void GrowBlockTable()
    {
        bool empty = _blocks == EmptyBlockTable;
        int capacity = empty ? 16 : _blockCapacity * 2;
        if (capacity > MaxBlocks) throw new OutOfMemoryException($"a shard's arena is limited to {MaxBlocks} pages and large blocks");
        byte** table = (byte**)NativeMemory.Realloc(empty ? null : _blocks, (nuint)capacity * (nuint)sizeof(nint));
        if (empty) table[0] = null;
        _blocks = table;
        _blockCapacity = capacity;
        AccountTables();
    }

    void FreeBlockTable()
    {
        NativeMemory.Free(_blocks);
        _blocks = EmptyBlockTable;
        _blockCapacity = _blockTop = 1;
        _freeBlock = 0;
        AccountTables();
    }

    /// <summary>The block and class tables count in used_memory, as the shards' index tables do.</summary>
    void AccountTables()
    {
        long bytes = (_blocks == EmptyBlockTable ? 0 : (long)_blockCapacity * sizeof(nint))
                   + (_classes == EmptyClassTable ? 0 : ClassTableBytes);
        MemoryCounters.AddKeyspace(bytes - _tableBytes);
        _tableBytes = bytes;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Alloc(nuint size)
    {
        if (size > MaxSmallSize) return AllocLarge(size);
        int cls = ClassBySize[((int)size + Granule - 1) / Granule];
        PageHeader* page = _classes[cls];
        if (page != null)
        {
            byte* slot = page->FreeList;
            if (slot != null)
            {
                page->FreeList = *(byte**)slot;
                page->Live++;
                Count(page->SlotSize);
                return slot;
            }
            if (page->Bump + page->SlotSize <= (byte*)page + PageSize)
            {
                slot = page->Bump;
                page->Bump += page->SlotSize;
                page->Live++;
                Count(page->SlotSize);
                return slot;
            }
        }
        return AllocSlow(cls);
    }

    void* AllocSlow(int cls)
    {
        if (_classes == EmptyClassTable)
        {
            _classes = (PageHeader**)NativeMemory.AllocZeroed((nuint)ClassTableBytes);
            AccountTables();
        }
        PageHeader* page = _classes[ClassCount + cls];
        if (page != null)
        {
            UnlinkPartial(page);
        }
        else
        {
            page = (PageHeader*)PagePool.Rent();
            *page = default;
            page->ClassIndex = cls;
            page->SlotSize = ClassSizes[cls];
            page->Bump = (byte*)page + HeaderSize;
            page->Index = TakeBlockIndex((byte*)page);
            page->NextPage = _allPages;
            if (_allPages != null) _allPages->PrevPage = page;
            _allPages = page;
            _pageBytes += PageSize;
            MemoryCounters.AddPages(PageSize);
        }
        _classes[cls] = page;
        return Alloc((nuint)ClassSizes[cls]);
    }

    void* AllocLarge(nuint size)
    {
        nuint rounded = RoundedSize(size);
        byte* block = (byte*)NativeMemory.Alloc(rounded + LargePrefix);
        *(int*)block = TakeBlockIndex(block);
        _largeBytes += (long)rounded + LargePrefix;
        _liveBytes += (long)rounded;
        MemoryCounters.AddKeyspace((long)rounded);
        MemoryCounters.AddPages((long)rounded + LargePrefix);
        return block + LargePrefix;
    }

    /// <summary>Frees a block; <paramref name="size"/> must be the size it was allocated with (any size
    /// within the same class works too).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* p, nuint size)
    {
        if (size > MaxSmallSize)
        {
            nuint rounded = RoundedSize(size);
            byte* block = (byte*)p - LargePrefix;
            ReleaseBlockIndex(*(int*)block);
            NativeMemory.Free(block);
            _largeBytes -= (long)rounded + LargePrefix;
            _liveBytes -= (long)rounded;
            MemoryCounters.AddKeyspace(-(long)rounded);
            MemoryCounters.AddPages(-((long)rounded + LargePrefix));
            return;
        }
        PageHeader* page = (PageHeader*)((nuint)p & ~(nuint)(PageSize - 1));
        *(byte**)p = page->FreeList;
        page->FreeList = (byte*)p;
        page->Live--;
        Count(-page->SlotSize);
        if (page->Live == 0 || page->InPartial == 0) FreeSlow(page);
    }

    void FreeSlow(PageHeader* page)
    {
        int cls = page->ClassIndex;
        if (page->Live == 0)
        {
            // An empty page goes back to the OS, unless it is the class's current page (keep one warm).
            if (_classes[cls] == page) return;
            if (page->InPartial != 0) UnlinkPartial(page);
            if (page->PrevPage != null) page->PrevPage->NextPage = page->NextPage; else _allPages = page->NextPage;
            if (page->NextPage != null) page->NextPage->PrevPage = page->PrevPage;
            ReleaseBlockIndex(page->Index);
            PagePool.Return(page);
            _pageBytes -= PageSize;
            MemoryCounters.AddPages(-PageSize);
            return;
        }
        if (_classes[cls] == page) return;
        // A full page just got a free slot: make it available again.
        page->InPartial = 1;
        page->PrevPartial = null;
        ref PageHeader* head = ref _classes[ClassCount + cls];
        page->NextPartial = head;
        if (head != null) head->PrevPartial = page;
        head = page;
    }

    void UnlinkPartial(PageHeader* page)
    {
        int cls = page->ClassIndex;
        if (page->PrevPartial != null) page->PrevPartial->NextPartial = page->NextPartial; else _classes[ClassCount + cls] = page->NextPartial;
        if (page->NextPartial != null) page->NextPartial->PrevPartial = page->PrevPartial;
        page->NextPartial = page->PrevPartial = null;
        page->InPartial = 0;
    }

    /// <summary>Grows or shrinks a block, keeping its first min(old,new) bytes.</summary>
    public void* Realloc(void* p, nuint oldSize, nuint newSize)
    {
        if (RoundedSize(oldSize) == RoundedSize(newSize)) return p;
        if (oldSize > MaxSmallSize && newSize > MaxSmallSize)
        {
            nuint oldR = RoundedSize(oldSize), newR = RoundedSize(newSize);
            byte* block = (byte*)NativeMemory.Realloc((byte*)p - LargePrefix, newR + LargePrefix);
            _blocks[*(int*)block] = block; // same index, so the block keeps its handle
            _largeBytes += (long)newR - (long)oldR;
            _liveBytes += (long)newR - (long)oldR;
            MemoryCounters.AddKeyspace((long)newR - (long)oldR);
            MemoryCounters.AddPages((long)newR - (long)oldR);
            return block + LargePrefix;
        }
        void* n = Alloc(newSize);
        Buffer.MemoryCopy(p, n, (long)newSize, (long)Math.Min(oldSize, newSize));
        Free(p, oldSize);
        return n;
    }

    /// <summary>Releases every page. Large blocks are the caller's to free (it knows where they are).</summary>
    public void ReleaseAllPages()
    {
        PageHeader* page = _allPages;
        while (page != null)
        {
            PageHeader* next = page->NextPage;
            Count(-(long)page->Live * page->SlotSize);
            ReleaseBlockIndex(page->Index);
            PagePool.Return(page);
            page = next;
        }
        _allPages = null;
        MemoryCounters.AddPages(-_pageBytes);
        _pageBytes = 0;
        FlushCounters();
        if (_classes != EmptyClassTable)
        {
            NativeMemory.Free(_classes);
            _classes = EmptyClassTable;
            AccountTables();
        }
    }

    public void Dispose() => ReleaseAllPages();
}
