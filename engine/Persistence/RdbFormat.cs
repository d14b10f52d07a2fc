// The constants of Redis's RDB format (rdb.h), in one place. NativeKv writes version 10 (what Redis 7.0
// writes and reads) and reads versions 1 to 11 (11 is Redis 7.2's: it adds the set listpack encoding).
namespace NativeKv.Engine.Persistence;

public static class RdbFormat
{
    /// <summary>The version NativeKv writes (Redis 7.0's RDB_VERSION): in files and in DUMP payloads.</summary>
    public const int Version = 10;

    /// <summary>The newest version NativeKv reads.</summary>
    public const int MaxReadVersion = 11;

    // Value types (the byte before a key).
    public const byte TypeString = 0;
    public const byte TypeList = 1;
    public const byte TypeSet = 2;
    public const byte TypeZSet = 3;
    public const byte TypeHash = 4;
    public const byte TypeZSet2 = 5;
    public const byte TypeModule = 6;
    public const byte TypeModule2 = 7;
    public const byte TypeHashZipmap = 9;
    public const byte TypeListZiplist = 10;
    public const byte TypeSetIntset = 11;
    public const byte TypeZSetZiplist = 12;
    public const byte TypeHashZiplist = 13;
    public const byte TypeListQuicklist = 14;
    public const byte TypeStreamListpacks = 15;
    public const byte TypeHashListpack = 16;
    public const byte TypeZSetListpack = 17;
    public const byte TypeListQuicklist2 = 18;
    public const byte TypeStreamListpacks2 = 19;
    public const byte TypeSetListpack = 20;
    public const byte TypeStreamListpacks3 = 21;

    // Opcodes.
    public const byte OpFunction2 = 245;
    public const byte OpFunctionPreGa = 246;
    public const byte OpModuleAux = 247;
    public const byte OpIdle = 248;
    public const byte OpFreq = 249;
    public const byte OpAux = 250;
    public const byte OpResizeDb = 251;
    public const byte OpExpireTimeMs = 252;
    public const byte OpExpireTime = 253;
    public const byte OpSelectDb = 254;
    public const byte OpEof = 255;

    // Length encodings: the top two bits of the first byte.
    public const int Len6Bit = 0;
    public const int Len14Bit = 1;
    public const byte Len32Bit = 0x80;
    public const byte Len64Bit = 0x81;
    public const int LenEncoded = 3;

    // Special string encodings (after the 11 prefix).
    public const int EncInt8 = 0;
    public const int EncInt16 = 1;
    public const int EncInt32 = 2;
    public const int EncLzf = 3;

    // Quicklist 2 node containers.
    public const int QuicklistNodePlain = 1;
    public const int QuicklistNodePacked = 2;

    /// <summary>Strings longer than this are LZF-compressed when rdbcompression is on (Redis: 20).</summary>
    public const int CompressMinLength = 20;

    /// <summary>True for the type bytes that carry a value (as opposed to opcodes).</summary>
    public static bool IsValueType(byte t) => t <= 7 || (t >= 9 && t <= 21);
}
