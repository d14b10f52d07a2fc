// One parsed RESP2 reply as a small tree, and the assertions the integration tests make on it.
// Every assertion message prints the whole reply, so a failure says what the server really sent.
using System.Text;
using NUnit.Framework;

namespace NativeKv.Tests.Harness;

public enum RespType
{
    SimpleString,
    Error,
    Integer,
    BulkString,
    Array,
}

public sealed class RespValue
{
    private RespValue(RespType type, byte[]? bytes, long integer, RespValue[]? items)
    {
        Type = type;
        Bytes = bytes;
        Integer = integer;
        Items = items;
    }

    public RespType Type { get; }

    /// <summary>Payload of a simple string, error or bulk string; null for a null bulk.</summary>
    public byte[]? Bytes { get; }

    public long Integer { get; }

    /// <summary>Elements of an array; null for a null array.</summary>
    public RespValue[]? Items { get; }

    public bool IsNull => (Type == RespType.BulkString && Bytes is null) || (Type == RespType.Array && Items is null);

    public bool IsError => Type == RespType.Error;

    /// <summary>Payload as UTF-8 text (simple string, error, bulk), or the integer in decimal; null for nulls.</summary>
    public string? Text => Type switch
    {
        RespType.Integer => Integer.ToString(System.Globalization.CultureInfo.InvariantCulture),
        RespType.Array => null,
        _ => Bytes is null ? null : Encoding.UTF8.GetString(Bytes),
    };

    public static RespValue Simple(byte[] text) => new(RespType.SimpleString, text, 0, null);
    public static RespValue Error(byte[] text) => new(RespType.Error, text, 0, null);
    public static RespValue Int(long value) => new(RespType.Integer, null, value, null);
    public static RespValue Bulk(byte[]? bytes) => new(RespType.BulkString, bytes, 0, null);
    public static RespValue Arr(RespValue[]? items) => new(RespType.Array, null, 0, items);

    /// <summary>The elements of an array reply as texts (null elements stay null); fails if not an array.</summary>
    public string?[] AsStrings()
    {
        if (Type != RespType.Array || Items is null)
        {
            throw new AssertionException($"expected an array, got {this}");
        }
        return Items.Select(i => i.Text).ToArray();
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        Append(sb, 0);
        return sb.ToString();
    }

    private void Append(StringBuilder sb, int depth)
    {
        switch (Type)
        {
            case RespType.SimpleString:
                sb.Append('+').Append(Quote(Bytes!));
                break;
            case RespType.Error:
                sb.Append('-').Append(Quote(Bytes!));
                break;
            case RespType.Integer:
                sb.Append(':').Append(Integer);
                break;
            case RespType.BulkString:
                sb.Append(Bytes is null ? "(nil)" : Quote(Bytes));
                break;
            case RespType.Array:
                if (Items is null)
                {
                    sb.Append("(nil array)");
                    break;
                }
                sb.Append('[');
                for (int i = 0; i < Items.Length; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }
                    if (i >= 20 && depth == 0 || i >= 8 && depth > 0)
                    {
                        sb.Append("... ").Append(Items.Length - i).Append(" more");
                        break;
                    }
                    Items[i].Append(sb, depth + 1);
                }
                sb.Append(']');
                break;
        }
    }

    /// <summary>Quotes bytes like redis-cli does, shortened when long.</summary>
    public static string Quote(ReadOnlySpan<byte> bytes)
    {
        const int MaxShown = 200;
        var sb = new StringBuilder("\"");
        int n = Math.Min(bytes.Length, MaxShown);
        for (int i = 0; i < n; i++)
        {
            byte b = bytes[i];
            switch (b)
            {
                case (byte)'"': sb.Append("\\\""); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                case (byte)'\r': sb.Append("\\r"); break;
                case (byte)'\n': sb.Append("\\n"); break;
                default:
                    if (b >= 32 && b < 127)
                    {
                        sb.Append((char)b);
                    }
                    else
                    {
                        sb.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    break;
            }
        }
        sb.Append('"');
        if (bytes.Length > MaxShown)
        {
            sb.Append("...(").Append(bytes.Length).Append(" bytes)");
        }
        return sb.ToString();
    }
}

/// <summary>Assertions on replies; each takes the reply first so calls read left to right.</summary>
public static class RespAssert
{
    public static void IsOk(RespValue r) => IsSimple(r, "OK");

    public static void IsSimple(RespValue r, string expected)
    {
        if (r.Type != RespType.SimpleString || r.Text != expected)
        {
            throw new AssertionException($"expected +{expected}, got {r}");
        }
    }

    /// <summary>An error reply whose whole text (without the leading '-') is exactly <paramref name="expected"/>.</summary>
    public static void IsError(RespValue r, string expected)
    {
        if (r.Type != RespType.Error || r.Text != expected)
        {
            throw new AssertionException($"expected error -{expected}, got {r}");
        }
    }

    /// <summary>An error reply that starts with <paramref name="prefix"/> (e.g. "ERR ").</summary>
    public static void IsErrorStartingWith(RespValue r, string prefix)
    {
        if (r.Type != RespType.Error || r.Text is null || !r.Text.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new AssertionException($"expected an error starting with '{prefix}', got {r}");
        }
    }

    public static void IsInteger(RespValue r, long expected)
    {
        if (r.Type != RespType.Integer || r.Integer != expected)
        {
            throw new AssertionException($"expected :{expected}, got {r}");
        }
    }

    public static long IsAnyInteger(RespValue r)
    {
        if (r.Type != RespType.Integer)
        {
            throw new AssertionException($"expected an integer, got {r}");
        }
        return r.Integer;
    }

    public static void IsBulk(RespValue r, string expected)
    {
        if (r.Type != RespType.BulkString || r.Bytes is null || r.Text != expected)
        {
            throw new AssertionException($"expected bulk {RespValue.Quote(Encoding.UTF8.GetBytes(expected))}, got {r}");
        }
    }

    public static void IsBulk(RespValue r, byte[] expected)
    {
        if (r.Type != RespType.BulkString || r.Bytes is null || !r.Bytes.AsSpan().SequenceEqual(expected))
        {
            throw new AssertionException($"expected bulk {RespValue.Quote(expected)}, got {r}");
        }
    }

    public static void IsNil(RespValue r)
    {
        if (r.Type != RespType.BulkString || r.Bytes is not null)
        {
            throw new AssertionException($"expected a null bulk (nil), got {r}");
        }
    }

    public static void IsNullArray(RespValue r)
    {
        if (r.Type != RespType.Array || r.Items is not null)
        {
            throw new AssertionException($"expected a null array, got {r}");
        }
    }

    /// <summary>An array of bulk strings (null entries are nil) equal to <paramref name="expected"/> in order.</summary>
    public static void IsArray(RespValue r, params string?[] expected)
    {
        if (r.Type != RespType.Array || r.Items is null)
        {
            throw new AssertionException($"expected an array of {expected.Length}, got {r}");
        }
        bool same = r.Items.Length == expected.Length;
        for (int i = 0; same && i < expected.Length; i++)
        {
            var item = r.Items[i];
            same = expected[i] is null
                ? item.Type == RespType.BulkString && item.IsNull
                : item.Type == RespType.BulkString && item.Text == expected[i];
        }
        if (!same)
        {
            string want = "[" + string.Join(", ", expected.Select(e => e is null ? "(nil)" : RespValue.Quote(Encoding.UTF8.GetBytes(e)))) + "]";
            throw new AssertionException($"expected {want}, got {r}");
        }
    }

    /// <summary>An array of bulk strings with the same elements as <paramref name="expected"/>, in any order.</summary>
    public static void IsSet(RespValue r, params string[] expected)
    {
        if (r.Type != RespType.Array || r.Items is null)
        {
            throw new AssertionException($"expected an array, got {r}");
        }
        var got = r.Items.Select(i => i.Text ?? "(nil)").OrderBy(s => s, StringComparer.Ordinal).ToArray();
        var want = expected.OrderBy(s => s, StringComparer.Ordinal).ToArray();
        if (!got.SequenceEqual(want))
        {
            throw new AssertionException($"expected the set {{{string.Join(", ", want)}}}, got {{{string.Join(", ", got)}}}");
        }
    }
}
