// Float arguments of sorted set commands, parsed exactly as Redis 7.0 parses them with glibc's strtod:
// scores and weights through string2d (the whole argument, no leading space, hexadecimal floats allowed,
// overflow and underflow to zero rejected, NaN rejected), range bounds through plain strtod (leading
// spaces allowed, the empty string is 0, overflow gives infinity, the text ends at a NUL byte, NaN
// rejected). Blocking timeouts go through LongDoubleText (strtold), as for the list commands.
using System.Globalization;

namespace NativeKv.Engine.Types;

public static class RedisFloat
{
    /// <summary>Redis's string2d: ZADD/ZINCRBY scores, WEIGHTS.</summary>
    public static bool TryParseStrict(ReadOnlySpan<byte> s, out double value)
    {
        value = 0;
        if (s.Length == 0 || IsSpace(s[0])) return false;
        int used = Strtod(s, out double d, out bool erange);
        if (used != s.Length || double.IsNaN(d)) return false;
        if (erange && (double.IsInfinity(d) || d == 0)) return false;
        value = d;
        return true;
    }

    /// <summary>A ZRANGEBYSCORE-style bound without its '(' (Redis's zslParseRange: strtod, then the
    /// rest must be empty).</summary>
    public static bool TryParseRangeBound(ReadOnlySpan<byte> s, out double value)
    {
        int nul = s.IndexOf((byte)0);
        if (nul >= 0) s = s[..nul];
        int used = Strtod(s, out value, out _);
        if (used == 0)
        {
            // No conversion: strtod leaves the end pointer at the start, which is accepted only when
            // the text is empty (Redis reads "" as 0).
            value = 0;
            return s.Length == 0;
        }
        return used == s.Length && !double.IsNaN(value);
    }

    static bool IsSpace(byte c) => c == ' ' || (c >= '\t' && c <= '\r');

    /// <summary>
    /// glibc strtod over a span: returns the bytes consumed (0: no conversion). <paramref name="erange"/>
    /// is set on overflow and on underflow to zero.
    /// </summary>
    public static int Strtod(ReadOnlySpan<byte> s, out double value, out bool erange)
    {
        value = 0;
        erange = false;
        int i = 0;
        while (i < s.Length && IsSpace(s[i])) i++;
        int signAt = i;
        bool negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            negative = s[i] == '-';
            i++;
        }
        if (i >= s.Length) return 0;
        byte c = (byte)(s[i] | 0x20);
        if (c == 'i')
        {
            if (MatchWord(s[i..], "infinity"u8)) i += 8;
            else if (MatchWord(s[i..], "inf"u8)) i += 3;
            else return 0;
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return i;
        }
        if (c == 'n')
        {
            if (!MatchWord(s[i..], "nan"u8)) return 0;
            i += 3;
            // "nan(n-char-sequence)" is taken whole when the parenthesis closes.
            if (i < s.Length && s[i] == '(')
            {
                int j = i + 1;
                while (j < s.Length && (char.IsAsciiLetterOrDigit((char)s[j]) || s[j] == '_')) j++;
                if (j < s.Length && s[j] == ')') i = j + 1;
            }
            value = double.NaN;
            return i;
        }
        if (s[i] == '0' && i + 1 < s.Length && (s[i + 1] | 0x20) == 'x')
        {
            int used = ParseHex(s, i + 2, negative, out value, out erange);
            if (used > 0) return used;
            // "0x" without hex digits: the "0" alone is the number.
            value = negative ? -0.0 : 0.0;
            return i + 1;
        }
        int start = i;
        bool nonZero = false;
        int digits = 0;
        while (i < s.Length && (uint)(s[i] - '0') <= 9)
        {
            nonZero |= s[i] != '0';
            i++;
            digits++;
        }
        if (i < s.Length && s[i] == '.')
        {
            i++;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
            {
                nonZero |= s[i] != '0';
                i++;
                digits++;
            }
        }
        if (digits == 0) return 0;
        if (i < s.Length && (s[i] | 0x20) == 'e')
        {
            int j = i + 1;
            if (j < s.Length && (s[j] == '+' || s[j] == '-')) j++;
            if (j < s.Length && (uint)(s[j] - '0') <= 9)
            {
                while (j < s.Length && (uint)(s[j] - '0') <= 9) j++;
                i = j;
            }
        }
        if (!double.TryParse(s[signAt..i], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                CultureInfo.InvariantCulture, out value))
        {
            // Only absurd exponents reach here ("1e99999999999"): an overflow or an underflow.
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            int e = s[start..i].IndexOfAny((byte)'e', (byte)'E');
            if (e >= 0 && s[start + e + 1] == '-') value = negative ? -0.0 : 0.0;
            if (!nonZero) value = negative ? -0.0 : 0.0;
            else erange = true;
            return i;
        }
        if (double.IsInfinity(value) || (value == 0 && nonZero)) erange = true;
        return i;
    }

    static bool MatchWord(ReadOnlySpan<byte> s, ReadOnlySpan<byte> lowerWord)
    {
        if (s.Length < lowerWord.Length) return false;
        for (int k = 0; k < lowerWord.Length; k++)
            if ((s[k] | 0x20) != lowerWord[k]) return false;
        return true;
    }

    /// <summary>A C99 hexadecimal float after "0x": hex digits, an optional fraction, an optional binary
    /// exponent "p[+-]digits". Returns the end index, or 0 when no hex digit follows.</summary>
    static int ParseHex(ReadOnlySpan<byte> s, int i, bool negative, out double value, out bool erange)
    {
        value = 0;
        erange = false;
        ulong mant = 0;
        int exp = 0;
        int digits = 0;
        bool sticky = false;
        bool seenDot = false;
        while (i < s.Length)
        {
            int h = HexValue(s[i]);
            if (h < 0)
            {
                if (s[i] == '.' && !seenDot)
                {
                    seenDot = true;
                    i++;
                    continue;
                }
                break;
            }
            digits++;
            if (mant >> 60 == 0)
            {
                mant = (mant << 4) | (uint)h;
                if (seenDot) exp -= 4;
            }
            else
            {
                sticky |= h != 0;
                if (!seenDot) exp += 4;
            }
            i++;
        }
        if (digits == 0) return 0;
        if (i < s.Length && (s[i] | 0x20) == 'p')
        {
            int j = i + 1;
            bool eneg = false;
            if (j < s.Length && (s[j] == '+' || s[j] == '-'))
            {
                eneg = s[j] == '-';
                j++;
            }
            if (j < s.Length && (uint)(s[j] - '0') <= 9)
            {
                long e = 0;
                while (j < s.Length && (uint)(s[j] - '0') <= 9)
                {
                    if (e < 100000) e = e * 10 + (s[j] - '0');
                    j++;
                }
                exp += (int)(eneg ? -e : e);
                i = j;
            }
        }
        if (sticky) mant |= 1; // keeps round-to-nearest correct for digits past 60 bits
        double v = mant == 0 ? 0 : Math.ScaleB(mant, exp);
        if (double.IsInfinity(v) || (v == 0 && mant != 0)) erange = true;
        value = negative ? -v : v;
        return i;
    }

    static int HexValue(byte c)
    {
        if ((uint)(c - '0') <= 9) return c - '0';
        int l = c | 0x20;
        if (l >= 'a' && l <= 'f') return l - 'a' + 10;
        return -1;
    }
}
