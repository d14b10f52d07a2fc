// Canned replies, in one place, with Redis 7's exact texts (server.c createSharedObjects and friends).
namespace NativeKv.Engine.Commands;

public static class Errors
{
    public static ReadOnlySpan<byte> WrongType => "WRONGTYPE Operation against a key holding the wrong kind of value"u8;
    public static ReadOnlySpan<byte> Syntax => "ERR syntax error"u8;
    public static ReadOnlySpan<byte> NotInteger => "ERR value is not an integer or out of range"u8;
    public static ReadOnlySpan<byte> NotFloat => "ERR value is not a valid float"u8;
    public static ReadOnlySpan<byte> Overflow => "ERR increment or decrement would overflow"u8;
    public static ReadOnlySpan<byte> NaNOrInfinity => "ERR increment would produce NaN or Infinity"u8;
    public static ReadOnlySpan<byte> NoSuchKey => "ERR no such key"u8;
    public static ReadOnlySpan<byte> DbIndexOutOfRange => "ERR DB index is out of range"u8;
    public static ReadOnlySpan<byte> SameObject => "ERR source and destination objects are the same"u8;
    public static ReadOnlySpan<byte> OffsetOutOfRange => "ERR offset is out of range"u8;
    public static ReadOnlySpan<byte> StringTooLong => "ERR string exceeds maximum allowed size (proto-max-bulk-len)"u8;
    public static ReadOnlySpan<byte> InvalidCursor => "ERR invalid cursor"u8;
    public static ReadOnlySpan<byte> Oom => "OOM command not allowed when used memory > 'maxmemory'."u8;

    public static string WrongArity(string command) => $"ERR wrong number of arguments for '{command}' command";
    public static string InvalidExpireTime(string command) => $"ERR invalid expire time in '{command}' command";
}
