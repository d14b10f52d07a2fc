// Glob-style matching with Redis's rules (util.c stringmatchlen): * ? [abc] [^abc] [a-z] and \ escapes.
// Used by KEYS, SCAN MATCH, CONFIG GET and (later) PSUBSCRIBE. Iterative for '*' to bound the work on
// hostile patterns: backtracking only to the last star, so it is O(pattern * string).
namespace NativeKv.Engine;

public static class Glob
{
    public static bool Match(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> s, bool ignoreCase = false)
    {
        int p = 0, i = 0;
        int starP = -1, starI = -1;
        while (i < s.Length)
        {
            if (p < pattern.Length)
            {
                byte pc = pattern[p];
                if (pc == (byte)'*')
                {
                    while (p < pattern.Length && pattern[p] == (byte)'*') p++;
                    if (p == pattern.Length) return true;
                    starP = p;
                    starI = i;
                    continue;
                }
                if (pc == (byte)'?')
                {
                    p++;
                    i++;
                    continue;
                }
                if (pc == (byte)'[')
                {
                    int end = MatchClass(pattern, p, s[i], ignoreCase, out bool ok);
                    if (ok)
                    {
                        p = end;
                        i++;
                        continue;
                    }
                }
                else
                {
                    if (pc == (byte)'\\' && p + 1 < pattern.Length) pc = pattern[++p];
                    if (Eq(pc, s[i], ignoreCase))
                    {
                        p++;
                        i++;
                        continue;
                    }
                }
            }
            if (starP < 0) return false;
            p = starP;
            i = ++starI;
        }
        while (p < pattern.Length && pattern[p] == (byte)'*') p++;
        return p == pattern.Length;
    }

    static bool Eq(byte a, byte b, bool ignoreCase) =>
        a == b || (ignoreCase && ToLower(a) == ToLower(b));

    static byte ToLower(byte c) => c >= (byte)'A' && c <= (byte)'Z' ? (byte)(c | 0x20) : c;

    /// <summary>Matches <paramref name="c"/> against the class starting at pattern[p] == '['; returns
    /// the index after the class.</summary>
    static int MatchClass(ReadOnlySpan<byte> pattern, int p, byte c, bool ignoreCase, out bool matched)
    {
        p++;
        bool not = p < pattern.Length && pattern[p] == (byte)'^';
        if (not) p++;
        bool match = false;
        while (p < pattern.Length)
        {
            if (pattern[p] == (byte)'\\' && p + 2 < pattern.Length)
            {
                p++;
                if (pattern[p] == c) match = true;
            }
            else if (pattern[p] == (byte)']')
            {
                break;
            }
            else if (p + 2 < pattern.Length && pattern[p + 1] == (byte)'-')
            {
                byte start = pattern[p], end = pattern[p + 2];
                if (start > end) (start, end) = (end, start);
                byte cc = c;
                if (ignoreCase)
                {
                    start = ToLower(start);
                    end = ToLower(end);
                    cc = ToLower(c);
                }
                p += 2;
                if (cc >= start && cc <= end) match = true;
            }
            else if (Eq(pattern[p], c, ignoreCase))
            {
                match = true;
            }
            p++;
        }
        // Like Redis, a class without its closing ']' runs to the end of the pattern.
        if (p >= pattern.Length) p = pattern.Length - 1;
        matched = not ? !match : match;
        return p + 1;
    }
}
