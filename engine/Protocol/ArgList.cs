// The arguments of one parsed command: (offset, length) pairs into the buffer the command was read
// into. Nothing is copied; the list itself is a native array reused for every command of a connection.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeKv.Engine.Protocol;

[StructLayout(LayoutKind.Sequential)]
public struct ArgSlice
{
    public int Offset;
    public int Length;
}

public unsafe sealed class ArgList : IDisposable
{
    /// <summary>Initial capacity: enough for all but the widest MSET/DEL commands.</summary>
    const int InitialCapacity = 16;

    ArgSlice* _items;
    int _capacity;

    /// <summary>Base pointer the offsets are relative to (the start of the command).</summary>
    public byte* Base;
    public int Count;

    public ArgList()
    {
        _capacity = InitialCapacity;
        _items = (ArgSlice*)NativeMemory.Alloc((nuint)(_capacity * sizeof(ArgSlice)));
    }

    public ArgSlice* Items => _items;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int offset, int length)
    {
        if (Count == _capacity) Grow();
        _items[Count].Offset = offset;
        _items[Count].Length = length;
        Count++;
    }

    void Grow()
    {
        _capacity *= 2;
        _items = (ArgSlice*)NativeMemory.Realloc(_items, (nuint)(_capacity * sizeof(ArgSlice)));
    }

    /// <summary>Drops a grown array back to its initial size after a very wide command.</summary>
    public void Trim()
    {
        if (_capacity <= 1024) return;
        _capacity = InitialCapacity;
        _items = (ArgSlice*)NativeMemory.Realloc(_items, (nuint)(_capacity * sizeof(ArgSlice)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Get(int i) => new(Base + _items[i].Offset, _items[i].Length);

    public void Dispose()
    {
        if (_items != null) NativeMemory.Free(_items);
        _items = null;
    }
}
