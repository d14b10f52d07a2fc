// Redis's CRC-64 (crc64.c: the "Jones" polynomial 0xad93d23594c935a9, reflected input and output, initial
// value 0, no final xor; check value of "123456789" is 0xe9c6d914c4b8d9ca). It guards RDB files and DUMP
// payloads. System.IO.Hashing.Crc64 is the ECMA-182 variant (non-reflected, another polynomial), so it
// cannot be used here. Slice-by-8 tables: eight table lookups per 8 input bytes, about 2 GB/s.
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace NativeKv.Engine.Persistence;

public static unsafe class Crc64
{
    /// <summary>The Jones polynomial, bit-reversed (the reflected algorithm shifts right).</summary>
    const ulong ReflectedPoly = 0x95AC9329AC4BC9B5UL;

    static readonly ulong[] Table = BuildTables();

    static ulong[] BuildTables()
    {
        var t = new ulong[8 * 256];
        for (int i = 0; i < 256; i++)
        {
            ulong crc = (ulong)i;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ ReflectedPoly : crc >> 1;
            t[i] = crc;
        }
        for (int i = 0; i < 256; i++)
        {
            ulong crc = t[i];
            for (int s = 1; s < 8; s++)
            {
                crc = t[(int)(crc & 0xFF)] ^ (crc >> 8);
                t[s * 256 + i] = crc;
            }
        }
        return t;
    }

    /// <summary>Continues <paramref name="crc"/> over <paramref name="data"/> (start with 0).</summary>
    public static ulong Update(ulong crc, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data) return Update(crc, p, data.Length);
    }

    public static ulong Update(ulong crc, byte* p, long len)
    {
        fixed (ulong* t = Table)
        {
            while (len >= 8)
            {
                crc ^= BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(p, 8));
                crc = t[7 * 256 + (int)(crc & 0xFF)]
                    ^ t[6 * 256 + (int)((crc >> 8) & 0xFF)]
                    ^ t[5 * 256 + (int)((crc >> 16) & 0xFF)]
                    ^ t[4 * 256 + (int)((crc >> 24) & 0xFF)]
                    ^ t[3 * 256 + (int)((crc >> 32) & 0xFF)]
                    ^ t[2 * 256 + (int)((crc >> 40) & 0xFF)]
                    ^ t[1 * 256 + (int)((crc >> 48) & 0xFF)]
                    ^ t[(int)(crc >> 56)];
                p += 8;
                len -= 8;
            }
            while (len-- > 0) crc = t[(int)((crc ^ *p++) & 0xFF)] ^ (crc >> 8);
        }
        return crc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Compute(ReadOnlySpan<byte> data) => Update(0, data);
}
