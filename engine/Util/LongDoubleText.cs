// Parsing floats the way Redis's string2ld does (strtold on the whole argument, 80-bit long double):
// decimal and hexadecimal ("0x1.8p3") notation, "inf"/"infinity" in any case, no NaN, no surrounding
// spaces. The value is returned as a double; what long double would hold but double cannot is reported
// so that callers can reply as Redis does (e.g. "1e400" is a valid, huge timeout; "1e5000" is not a
// float at all, because it overflows even long double).
using System.Globalization;

namespace NativeKv.Engine;

public static class LongDoubleText
{
    /// <summary>Redis's MAX_LONG_DOUBLE_CHARS: longer arguments are rejected outright.</summary>
    const int MaxChars = 5 * 1024;

    /// <summary>Decimal exponent range of an x87 long double: beyond ~1.19e4932 strtold overflows,
    /// below ~3.6e-4951 (the smallest subnormal) it underflows to zero; both are ERANGE failures.</summary>
    const int MaxDecimalExponent = 4932;
    const int MinDecimalExponent = -4951;

    /// <summary>
    /// Parses <paramref name="s"/> as strtold would; false when Redis would say it is not a float.
    /// A finite long double outside double's range comes back as ±infinity (or ±0 for tiny values).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> s, out double value)
    {
        value = 0;
        if (s.Length == 0 || s.Length >= MaxChars) return false;
        int i = 0;
        bool negative = false;
        if (s[0] == (byte)'+' || s[0] == (byte)'-')
        {
            negative = s[0] == (byte)'-';
            i = 1;
        }
        var body = s[i..];
        if (body.Length == 0) return false;
        if ((body[0] | 0x20) == 'i')
        {
            if (!EqualsLower(body, "inf"u8) && !EqualsLower(body, "infinity"u8)) return false;
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        if (body.Length > 1 && body[0] == (byte)'0' && (body[1] | 0x20) == 'x')
        {
            if (!TryParseHex(body[2..], out value)) return false;
            if (negative) value = -value;
            return true;
        }
        return TryParseDecimal(s, body, negative, out value);
    }

    static bool TryParseDecimal(ReadOnlySpan<byte> whole, ReadOnlySpan<byte> body, bool negative, out double value)
    {
        value = 0;
        int i = 0, digits = 0, firstSignificant = -1, pointAt = -1, position = 0;
        for (; i < body.Length; i++)
        {
            byte c = body[i];
            if (c >= '0' && c <= '9')
            {
                if (c != '0' && firstSignificant < 0) firstSignificant = position;
                digits++;
                position++;
            }
            else if (c == '.' && pointAt < 0) pointAt = position;
            else break;
        }
        if (digits == 0) return false;
        if (pointAt < 0) pointAt = position;
        long exponent = 0;
        if (i < body.Length)
        {
            if ((body[i] | 0x20) != 'e') return false;
            i++;
            bool expNegative = false;
            if (i < body.Length && (body[i] == (byte)'+' || body[i] == (byte)'-'))
            {
                expNegative = body[i] == (byte)'-';
                i++;
            }
            if (i == body.Length) return false;
            for (; i < body.Length; i++)
            {
                uint d = (uint)(body[i] - '0');
                if (d > 9) return false;
                if (exponent < 1_000_000) exponent = exponent * 10 + d;
            }
            if (expNegative) exponent = -exponent;
        }
        if (firstSignificant >= 0)
        {
            // Decimal exponent of the leading significant digit: d.ddd x 10^magnitude.
            long magnitude = exponent + (pointAt - firstSignificant - 1);
            if (magnitude > MaxDecimalExponent || magnitude < MinDecimalExponent) return false;
        }
        if (!double.TryParse(whole, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                CultureInfo.InvariantCulture, out value))
            return false;
        if (firstSignificant < 0) value = negative ? -0.0 : 0.0;
        return true;
    }

    /// <summary>Hex digits with an optional point, then an optional binary exponent "p[+-]digits".</summary>
    static bool TryParseHex(ReadOnlySpan<byte> s, out double value)
    {
        value = 0;
        double mantissa = 0;
        int digits = 0, fractionDigits = 0, i = 0;
        bool point = false;
        for (; i < s.Length; i++)
        {
            byte c = s[i];
            int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
            if (d >= 0)
            {
                mantissa = mantissa * 16 + d;
                digits++;
                if (point) fractionDigits++;
            }
            else if (c == '.' && !point) point = true;
            else break;
        }
        if (digits == 0) return false;
        long exponent = 0;
        if (i < s.Length)
        {
            if ((s[i] | 0x20) != 'p') return false;
            i++;
            bool expNegative = false;
            if (i < s.Length && (s[i] == (byte)'+' || s[i] == (byte)'-'))
            {
                expNegative = s[i] == (byte)'-';
                i++;
            }
            if (i == s.Length) return false;
            for (; i < s.Length; i++)
            {
                uint d = (uint)(s[i] - '0');
                if (d > 9) return false;
                if (exponent < 1_000_000) exponent = exponent * 10 + d;
            }
            if (expNegative) exponent = -exponent;
        }
        long binaryExponent = exponent - 4L * fractionDigits;
        if (mantissa != 0)
        {
            // Long double's binary range is about 2^-16445 .. 2^16384.
            double log2 = Math.Log2(mantissa) + binaryExponent;
            if (log2 >= 16384 || log2 < -16445) return false;
        }
        value = mantissa * Math.Pow(2, Math.Clamp(binaryExponent, -2000, 2000));
        return true;
    }

    static bool EqualsLower(ReadOnlySpan<byte> a, ReadOnlySpan<byte> lower)
    {
        if (a.Length != lower.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if ((a[i] | 0x20) != lower[i]) return false;
        return true;
    }
}
