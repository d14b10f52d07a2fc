// Number parsing and formatting with Redis's exact rules (util.c: string2ll, string2ld, ld2string,
// and the "%.17g" double replies of Redis 7.0), on UTF-8 spans, without allocating.
using System.Globalization;
using System.Runtime.CompilerServices;

namespace NativeKv.Engine;

public static class Numbers
{
    /// <summary>Longest decimal text of a long: "-9223372036854775808".</summary>
    public const int MaxInt64Chars = 20;

    /// <summary>Redis's string2ll: optional '-', digits, no '+', no spaces, no leading zeros, no
    /// overflow.</summary>
    public static bool TryParseInt64(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        int len = s.Length;
        if (len == 0 || len > MaxInt64Chars) return false;
        if (len == 1 && s[0] == (byte)'0') return true;
        int i = 0;
        bool negative = false;
        if (s[0] == (byte)'-')
        {
            negative = true;
            i = 1;
            if (len == 1) return false;
        }
        if (s[i] < (byte)'1' || s[i] > (byte)'9') return false;
        ulong v = (ulong)(s[i] - '0');
        for (i++; i < len; i++)
        {
            uint d = (uint)(s[i] - '0');
            if (d > 9) return false;
            if (v > (ulong.MaxValue - d) / 10) return false;
            v = v * 10 + d;
        }
        if (negative)
        {
            if (v > (ulong)long.MaxValue + 1) return false;
            value = (long)(0 - v);
        }
        else
        {
            if (v > long.MaxValue) return false;
            value = (long)v;
        }
        return true;
    }

    /// <summary>Formats a long into <paramref name="dest"/>; returns the byte count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FormatInt64(long value, Span<byte> dest)
    {
        value.TryFormat(dest, out int written, default, CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary>
    /// Parses a float as Redis does with strtod/strtold: the whole text must be a number (no spaces),
    /// "inf", "+inf", "-inf", "infinity" (any case) are accepted, NaN is not.
    /// </summary>
    public static bool TryParseDouble(ReadOnlySpan<byte> s, out double value)
    {
        value = 0;
        if (s.Length == 0 || s.Length > 5000) return false;
        ReadOnlySpan<byte> body = s;
        bool negative = false;
        if (body[0] == (byte)'-' || body[0] == (byte)'+')
        {
            negative = body[0] == (byte)'-';
            body = body[1..];
        }
        if (body.Length > 0 && (body[0] | 0x20) == (byte)'i')
        {
            if (AsciiEqualsIgnoreCase(body, "inf"u8) || AsciiEqualsIgnoreCase(body, "infinity"u8))
            {
                value = negative ? double.NegativeInfinity : double.PositiveInfinity;
                return true;
            }
            return false;
        }
        // Only digits, one '.', and an exponent: no "NaN", no "Infinity" words, no spaces.
        foreach (byte c in body)
        {
            if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+'))
                return false;
        }
        if (!double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                CultureInfo.InvariantCulture, out value))
            return false;
        return !double.IsNaN(value);
    }

    static bool AsciiEqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> lowerB)
    {
        if (a.Length != lowerB.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if ((a[i] | 0x20) != lowerB[i]) return false;
        return true;
    }

    /// <summary>Redis 7.0's double reply: "%.17g", with "inf"/"-inf".</summary>
    public static int FormatDouble(double d, Span<byte> dest)
    {
        if (double.IsPositiveInfinity(d)) { "inf"u8.CopyTo(dest); return 3; }
        if (double.IsNegativeInfinity(d)) { "-inf"u8.CopyTo(dest); return 4; }
        if (d == 0) // %.17g prints "0" and "-0"
        {
            if (double.IsNegative(d)) { "-0"u8.CopyTo(dest); return 2; }
            dest[0] = (byte)'0';
            return 1;
        }
        d.TryFormat(dest, out int n, "G17", CultureInfo.InvariantCulture);
        return FixExponent(dest, n);
    }

    /// <summary>
    /// Human-friendly long-double text as INCRBYFLOAT replies it (ld2string LD_STR_HUMAN: "%.17Lf" with
    /// trailing zeros removed). Redis computes in 80-bit long double; NativeKv computes in decimal where
    /// the value fits (exact for decimal inputs, which is what the long double rounding hides) and in
    /// double otherwise.
    /// </summary>
    public static int FormatHumanDouble(double d, Span<byte> dest)
    {
        if (Math.Abs(d) < 7.9e27 && (d == 0 || Math.Abs(d) >= 1e-17))
        {
            decimal m = Math.Round((decimal)d, 17, MidpointRounding.ToEven);
            return FormatHumanDecimal(m, dest);
        }
        d.TryFormat(dest, out int n, "F17", CultureInfo.InvariantCulture);
        return TrimFraction(dest, n);
    }

    public static int FormatHumanDecimal(decimal m, Span<byte> dest)
    {
        m.TryFormat(dest, out int n, "F17", CultureInfo.InvariantCulture);
        return TrimFraction(dest, n);
    }

    static int TrimFraction(Span<byte> dest, int n)
    {
        if (dest[..n].IndexOf((byte)'.') >= 0)
        {
            while (dest[n - 1] == (byte)'0') n--;
            if (dest[n - 1] == (byte)'.') n--;
        }
        if (n == 2 && dest[0] == (byte)'-' && dest[1] == (byte)'0') { dest[0] = (byte)'0'; n = 1; }
        return n;
    }

    /// <summary>Turns .NET's "E+20"/"E-05" into C's "e+20"/"e-05".</summary>
    static int FixExponent(Span<byte> s, int n)
    {
        int e = s[..n].IndexOf((byte)'E');
        if (e < 0) return n;
        s[e] = (byte)'e';
        int digits = n - (e + 2);
        if (digits == 1) // C prints at least two exponent digits
        {
            s[n] = s[n - 1];
            s[n - 1] = (byte)'0';
            n++;
        }
        return n;
    }

    /// <summary>Parses an INCRBYFLOAT operand into decimal when it is representable exactly enough.</summary>
    public static bool TryParseDecimal(ReadOnlySpan<byte> s, out decimal value)
    {
        value = 0;
        foreach (byte c in s)
            if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+')) return false;
        return s.Length <= 30 && decimal.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint,
            CultureInfo.InvariantCulture, out value);
    }
}
