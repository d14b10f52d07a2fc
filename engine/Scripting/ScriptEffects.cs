// The write commands a committed script ran, in order, as RESP multibulk commands tagged with the
// database each ran in: "effects, not source". The AOF logs them as one MULTI/EXEC unit (a SELECT
// before a command whose database differs from the log's current one), so that replay reaches exactly
// the state the script produced without running Lua again.
using NativeKv.Engine.Memory;
using NativeKv.Engine.Protocol;

namespace NativeKv.Engine.Scripting;

public sealed unsafe class ScriptEffects : IDisposable
{
    NativeBuffer? _bytes;
    int _length;
    int[] _db = new int[16];
    int[] _offset = new int[16];
    int[] _size = new int[16];

    /// <summary>Number of write commands.</summary>
    public int Count { get; private set; }

    /// <summary>The database the i-th command ran in.</summary>
    public int Db(int i) => _db[i];

    /// <summary>The i-th command as a RESP multibulk (`*N\r\n$L\r\narg\r\n...`).</summary>
    public ReadOnlySpan<byte> Command(int i) => new(_bytes!.Pointer + _offset[i], _size[i]);

    internal void Clear()
    {
        Count = 0;
        _length = 0;
    }

    internal void Add(int db, ArgList args)
    {
        long need = 16;
        for (int i = 0; i < args.Count; i++) need += args.Get(i).Length + 16;
        if (need > int.MaxValue / 2) return; // cannot be logged as one record; the AOF sees a gap (never in practice)
        _bytes ??= new NativeBuffer(4096);
        if (_length + need > _bytes.Capacity) _bytes.Resize((int)Math.Max(_bytes.Capacity * 2L, _length + need), _length);
        if (Count == _db.Length)
        {
            Array.Resize(ref _db, Count * 2);
            Array.Resize(ref _offset, Count * 2);
            Array.Resize(ref _size, Count * 2);
        }
        int start = _length;
        var dst = new Span<byte>(_bytes.Pointer, _bytes.Capacity);
        dst[_length++] = (byte)'*';
        _length += Numbers.FormatInt64(args.Count, dst[_length..]);
        dst[_length++] = (byte)'\r';
        dst[_length++] = (byte)'\n';
        for (int i = 0; i < args.Count; i++)
        {
            var a = args.Get(i);
            dst[_length++] = (byte)'$';
            _length += Numbers.FormatInt64(a.Length, dst[_length..]);
            dst[_length++] = (byte)'\r';
            dst[_length++] = (byte)'\n';
            a.CopyTo(dst[_length..]);
            _length += a.Length;
            dst[_length++] = (byte)'\r';
            dst[_length++] = (byte)'\n';
        }
        _db[Count] = db;
        _offset[Count] = start;
        _size[Count] = _length - start;
        Count++;
    }

    /// <summary>Drops a buffer that grew for one huge script.</summary>
    internal void TrimIfLarge()
    {
        if (_bytes != null && _bytes.Capacity > 1024 * 1024)
        {
            _bytes.Dispose();
            _bytes = null;
        }
    }

    public void Dispose() => _bytes?.Dispose();
}
