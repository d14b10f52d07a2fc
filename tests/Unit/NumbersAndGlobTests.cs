// Redis's number rules (string2ll, %.17g, human long-double text) and glob matching.
using System.Text;
using NativeKv.Engine;
using NUnit.Framework;

namespace NativeKv.Tests.Unit;

[TestFixture]
public class NumbersAndGlobTests
{
    [TestCase("0", true, 0L)]
    [TestCase("-1", true, -1L)]
    [TestCase("9223372036854775807", true, long.MaxValue)]
    [TestCase("-9223372036854775808", true, long.MinValue)]
    [TestCase("9223372036854775808", false, 0L)]
    [TestCase("+1", false, 0L)]
    [TestCase("01", false, 0L)]
    [TestCase("-0", false, 0L)]
    [TestCase(" 1", false, 0L)]
    [TestCase("1 ", false, 0L)]
    [TestCase("", false, 0L)]
    [TestCase("1.0", false, 0L)]
    public void ParseInt64LikeString2ll(string s, bool ok, long expected)
    {
        Assert.That(Numbers.TryParseInt64(Encoding.ASCII.GetBytes(s), out long v), Is.EqualTo(ok));
        if (ok) Assert.That(v, Is.EqualTo(expected));
    }

    [TestCase(1.1, "1.1000000000000001")]
    [TestCase(1.0, "1")]
    [TestCase(1e20, "1e+20")]
    [TestCase(1e-5, "1.0000000000000001e-05")]
    [TestCase(double.PositiveInfinity, "inf")]
    [TestCase(double.NegativeInfinity, "-inf")]
    [TestCase(-2.5, "-2.5")]
    [TestCase(0.0, "0")]
    public void FormatDoubleLikePercent17g(double d, string expected)
    {
        Span<byte> buf = stackalloc byte[64];
        int n = Numbers.FormatDouble(d, buf);
        Assert.That(Encoding.ASCII.GetString(buf[..n]), Is.EqualTo(expected));
    }

    [TestCase("inf", true)]
    [TestCase("-inf", true)]
    [TestCase("+inf", true)]
    [TestCase("Infinity", true)]
    [TestCase("nan", false)]
    [TestCase("1e3", true)]
    [TestCase(" 1", false)]
    [TestCase("1.5x", false)]
    [TestCase("", false)]
    public void ParseDoubleLikeStrtod(string s, bool ok) =>
        Assert.That(Numbers.TryParseDouble(Encoding.ASCII.GetBytes(s), out _), Is.EqualTo(ok));

    [TestCase("*", "anything", true)]
    [TestCase("h?llo", "hello", true)]
    [TestCase("h?llo", "hllo", false)]
    [TestCase("h*llo", "heeeello", true)]
    [TestCase("h[ae]llo", "hallo", true)]
    [TestCase("h[ae]llo", "hillo", false)]
    [TestCase("h[^e]llo", "hallo", true)]
    [TestCase("h[^e]llo", "hello", false)]
    [TestCase("h[a-b]llo", "hbllo", true)]
    [TestCase("h\\*llo", "h*llo", true)]
    [TestCase("h\\*llo", "hello", false)]
    [TestCase("*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false)]
    public void GlobMatchesLikeStringmatchlen(string pattern, string s, bool expected) =>
        Assert.That(Glob.Match(Encoding.ASCII.GetBytes(pattern), Encoding.ASCII.GetBytes(s)), Is.EqualTo(expected));
}
