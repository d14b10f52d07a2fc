// LZF, the compression RDB uses for strings longer than 20 bytes (Redis vendors liblzf). The stream is a
// sequence of literal runs (control byte 0..31: that many plus one literal bytes follow) and back
// references (control byte with a 3-bit length L >= 1 and the high 5 bits of a 13-bit offset, one more
// length byte when L = 7, then the low offset byte: copy L + 2 bytes from offset + 1 bytes back).
// Written here from the format description; decompression checks every bound (payloads are untrusted).
namespace NativeKv.Engine.Persistence;

public static unsafe class Lzf
{
    /// <summary>Hash table size for the compressor: 2^14 slots (64 KB) is liblzf's speed/ratio default.</summary>
    const int HashBits = 14;

    /// <summary>Back references reach at most 8 KiB back (13-bit offset).</summary>
    const int MaxOffset = 1 << 13;

    /// <summary>Longest back reference: 7 + 255 encoded, plus the implicit 2.</summary>
    const int MaxMatch = 264;

    /// <summary>Longest literal run one control byte can announce.</summary>
    const int MaxLiteral = 32;

    [ThreadStatic] static int[]? t_table;

    /// <summary>
    /// Compresses <paramref name="input"/> into <paramref name="output"/>; returns the compressed length,
    /// or 0 when it does not fit (the caller then stores the string uncompressed).
    /// </summary>
    public static int Compress(byte* input, int inLen, byte* output, int outLen)
    {
        if (inLen == 0 || outLen < 2) return 0;
        var table = t_table ??= new int[1 << HashBits];
        Array.Clear(table);
        int ip = 0, op = 0;
        int litPos = op++; // control byte of the current literal run
        int lit = 0;
        fixed (int* htab = table)
        {
            while (ip + 2 < inLen)
            {
                uint v = (uint)(input[ip] << 16 | input[ip + 1] << 8 | input[ip + 2]);
                int h = (int)((v * 2654435761u) >> (32 - HashBits));
                int reference = htab[h] - 1;
                htab[h] = ip + 1;
                int off = ip - reference - 1;
                if (reference >= 0 && off < MaxOffset
                    && input[reference] == input[ip] && input[reference + 1] == input[ip + 1] && input[reference + 2] == input[ip + 2])
                {
                    int maxLen = Math.Min(inLen - ip, MaxMatch);
                    int len = 3;
                    while (len < maxLen && input[reference + len] == input[ip + len]) len++;
                    if (op + 4 > outLen) return 0;
                    if (lit == 0) op--;
                    else output[litPos] = (byte)(lit - 1);
                    int l = len - 2;
                    if (l < 7) output[op++] = (byte)((l << 5) | (off >> 8));
                    else
                    {
                        output[op++] = (byte)((7 << 5) | (off >> 8));
                        output[op++] = (byte)(l - 7);
                    }
                    output[op++] = (byte)off;
                    litPos = op++;
                    lit = 0;
                    ip += len;
                    continue;
                }
                if (!Literal(input, ref ip, output, ref op, outLen, ref litPos, ref lit)) return 0;
            }
        }
        while (ip < inLen)
            if (!Literal(input, ref ip, output, ref op, outLen, ref litPos, ref lit)) return 0;
        if (lit == 0) op--;
        else output[litPos] = (byte)(lit - 1);
        return op;
    }

    static bool Literal(byte* input, ref int ip, byte* output, ref int op, int outLen, ref int litPos, ref int lit)
    {
        if (op + 2 > outLen) return false;
        output[op++] = input[ip++];
        if (++lit == MaxLiteral)
        {
            output[litPos] = MaxLiteral - 1;
            litPos = op++;
            lit = 0;
        }
        return true;
    }

    /// <summary>Decompresses exactly <paramref name="outLen"/> bytes; false on any malformed input.</summary>
    public static bool Decompress(byte* input, int inLen, byte* output, int outLen)
    {
        int ip = 0, op = 0;
        while (ip < inLen)
        {
            int ctrl = input[ip++];
            if (ctrl < 32)
            {
                int n = ctrl + 1;
                if (op + n > outLen || ip + n > inLen) return false;
                Buffer.MemoryCopy(input + ip, output + op, n, n);
                ip += n;
                op += n;
            }
            else
            {
                int len = ctrl >> 5;
                if (len == 7)
                {
                    if (ip >= inLen) return false;
                    len += input[ip++];
                }
                if (ip >= inLen) return false;
                int reference = op - ((ctrl & 0x1F) << 8) - 1 - input[ip++];
                len += 2;
                if (reference < 0 || op + len > outLen) return false;
                for (int i = 0; i < len; i++) output[op + i] = output[reference + i];
                op += len;
            }
        }
        return op == outLen;
    }
}
