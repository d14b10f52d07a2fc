// Float parsing of sorted set arguments (engine/Types/RedisFloat.cs): glibc strtod's grammar (hex floats,
// inf/infinity, nan) with Redis 7.0's three sets of rules: scores (string2d), range bounds (strtod up
// to the end or a NUL byte) and blocking timeouts. Every expectation was checked against redis-server.
using System.Text;
using NativeKv.Engine.Types;
using NUnit.Framework;

namespace NativeKv.Tests.Unit;

public sealed class RedisFloatTests
{
    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    [TestCase("1", 1.0)]
    [TestCase("-2.5", -2.5)]
    [TestCase("+5", 5.0)]
    [TestCase(".5", 0.5)]
    [TestCase("5.", 5.0)]
    [TestCase("1e5", 100000.0)]
    [TestCase("1E-2", 0.01)]
    [TestCase("0x10", 16.0)]
    [TestCase("-0x10", -16.0)]
    [TestCase("0x1p-2", 0.25)]
    [TestCase("0X1.8P1", 3.0)]
    [TestCase("0x.8", 0.5)]
    [TestCase("inf", double.PositiveInfinity)]
    [TestCase("-Infinity", double.NegativeInfinity)]
    [TestCase("+INF", double.PositiveInfinity)]
    [TestCase("4.9e-324", 4.9406564584124654e-324)]
    [TestCase("0.1", 0.1)]
    public void Strict_AcceptsWhatString2dAccepts(string text, double expected)
    {
        Assert.That(RedisFloat.TryParseStrict(B(text), out double v), Is.True);
        Assert.That(v, Is.EqualTo(expected));
    }

    [TestCase("")]
    [TestCase(" 1")]
    [TestCase("1 ")]
    [TestCase("1e400")]
    [TestCase("-1e400")]
    [TestCase("1e-400")]
    [TestCase("nan")]
    [TestCase("NaN")]
    [TestCase("nan(123)")]
    [TestCase("abc")]
    [TestCase("0x")]
    [TestCase("1e")]
    [TestCase("infinit")]
    [TestCase("-")]
    [TestCase(".")]
    [TestCase("1\01")]
    public void Strict_RejectsWhatString2dRejects(string text) =>
        Assert.That(RedisFloat.TryParseStrict(B(text), out _), Is.False);

    [Test]
    public void Strict_KeepsNegativeZero()
    {
        Assert.That(RedisFloat.TryParseStrict(B("-0"), out double v), Is.True);
        Assert.That(double.IsNegative(v), Is.True);
    }

    [TestCase("", 0.0)]
    [TestCase(" 1", 1.0)]
    [TestCase("\t-3", -3.0)]
    [TestCase("1e400", double.PositiveInfinity)]
    [TestCase("1e-400", 0.0)]
    [TestCase("0x20", 32.0)]
    [TestCase("5\0garbage", 5.0)]
    [TestCase("-inf", double.NegativeInfinity)]
    public void RangeBound_AcceptsWhatStrtodReadsToTheEnd(string text, double expected)
    {
        Assert.That(RedisFloat.TryParseRangeBound(B(text), out double v), Is.True);
        Assert.That(v, Is.EqualTo(expected));
    }

    [TestCase("nan")]
    [TestCase("1 ")]
    [TestCase(" ")]
    [TestCase("abc")]
    [TestCase("(1")]
    [TestCase("+")]
    public void RangeBound_Rejects(string text) => Assert.That(RedisFloat.TryParseRangeBound(B(text), out _), Is.False);
}
