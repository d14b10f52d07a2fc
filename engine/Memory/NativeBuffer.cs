// Growable native byte buffers for connections (receive and send), counted in used_memory.
//
// A buffer owns one NativeMemory block and a MemoryManager over it, so that SocketAsyncEventArgs can
// receive into and send from native memory without pinning GC arrays. The manager is recreated only when
// the block moves (growth), never per request.
using System.Buffers;
using System.Runtime.InteropServices;

namespace NativeKv.Engine.Memory;

public static class MemoryCounters
{
    static long _bufferBytes;
    static long _keyspaceBytes;
    static long _pageBytes;

    /// <summary>Bytes the arenas hold from the OS (whole pages and large blocks), used or not.</summary>
    public static long PageBytes => Volatile.Read(ref _pageBytes);

    public static void AddPages(long delta) => Interlocked.Add(ref _pageBytes, delta);

    /// <summary>Bytes held by connection buffers and other non-keyspace native blocks.</summary>
    public static long BufferBytes => Volatile.Read(ref _bufferBytes);

    /// <summary>Bytes the keyspace holds: every allocation (entries, values, structures) at its real,
    /// size-class-rounded size, plus index tables and TTL arrays. Like Redis's used_memory it excludes
    /// free slots inside arena pages (that is fragmentation, visible in mem_fragmentation_ratio).
    /// Arenas report in 4 KiB batches, so reading it is one load.</summary>
    public static long KeyspaceBytes => Volatile.Read(ref _keyspaceBytes);

    public static void AddBuffer(long delta) => Interlocked.Add(ref _bufferBytes, delta);

    public static void AddKeyspace(long delta) => Interlocked.Add(ref _keyspaceBytes, delta);

    /// <summary>used_memory: everything NativeKv holds natively.</summary>
    public static long Used => KeyspaceBytes + BufferBytes;
}

public unsafe sealed class NativeBuffer : IDisposable
{
    byte* _ptr;
    int _capacity;
    Manager? _manager;

    public NativeBuffer(int capacity)
    {
        _capacity = capacity;
        _ptr = (byte*)NativeMemory.Alloc((nuint)capacity);
        MemoryCounters.AddBuffer(capacity);
    }

    public byte* Pointer => _ptr;
    public int Capacity => _capacity;
    public Span<byte> Span => new(_ptr, _capacity);

    /// <summary>A Memory view of the whole block; stable until the next <see cref="Resize"/>.</summary>
    public Memory<byte> Memory => (_manager ??= new Manager(_ptr, _capacity)).Memory;

    /// <summary>Grows (or shrinks) the block, keeping the first <paramref name="keep"/> bytes.</summary>
    public void Resize(int newCapacity, int keep)
    {
        if (newCapacity == _capacity) return;
        byte* n = (byte*)NativeMemory.Alloc((nuint)newCapacity);
        if (keep > 0) Buffer.MemoryCopy(_ptr, n, newCapacity, Math.Min(keep, newCapacity));
        NativeMemory.Free(_ptr);
        MemoryCounters.AddBuffer(newCapacity - (long)_capacity);
        _ptr = n;
        _capacity = newCapacity;
        _manager = null;
    }

    public void Dispose()
    {
        if (_ptr == null) return;
        NativeMemory.Free(_ptr);
        MemoryCounters.AddBuffer(-_capacity);
        _ptr = null;
        _capacity = 0;
        _manager = null;
    }

    sealed class Manager(byte* ptr, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(ptr, length);
        public override MemoryHandle Pin(int elementIndex = 0) => new(ptr + elementIndex);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }
}
