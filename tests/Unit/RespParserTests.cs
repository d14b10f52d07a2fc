// RESP parser unit tests: every framing split at every byte boundary must parse to the same arguments,
// and every malformed form must produce Redis's exact error text.
using System.Runtime.InteropServices;
using System.Text;
using NativeKv.Engine.Protocol;
using NUnit.Framework;
using NativeKv.Tests.Harness;

namespace NativeKv.Tests.Unit;

[TestFixture]
public unsafe class RespParserTests
{
    const long MaxBulk = 512L * 1024 * 1024;

    /// <summary>Feeds <paramref name="input"/> as a connection would: bytes arrive in the given chunks,
    /// complete commands are consumed from the front, an incomplete tail stays at the start.</summary>
    static List<string[]> ParseChunked(byte[] input, IEnumerable<int> chunkSizes, out string? error)
    {
        error = null;
        var result = new List<string[]>();
        var buffer = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, input.Length));
        try
        {
            using var args = new ArgList();
            var parser = new RespParser();
            int len = 0, fed = 0;
            foreach (int size in chunkSizes.Append(int.MaxValue))
            {
                int n = Math.Min(size, input.Length - fed);
                if (n <= 0 && fed == input.Length && size != int.MaxValue) continue;
                new ReadOnlySpan<byte>(input, fed, Math.Max(0, n)).CopyTo(new Span<byte>(buffer + len, Math.Max(0, n)));
                len += Math.Max(0, n);
                fed += Math.Max(0, n);
                int pos = 0;
                while (pos < len)
                {
                    var st = parser.Parse(buffer + pos, len - pos, args, MaxBulk, out int consumed);
                    if (st == ParseStatus.Incomplete) break;
                    if (st == ParseStatus.Error)
                    {
                        error = parser.Error;
                        return result;
                    }
                    pos += consumed;
                    if (args.Count == 0) continue;
                    var cmd = new string[args.Count];
                    for (int i = 0; i < args.Count; i++) cmd[i] = Encoding.UTF8.GetString(args.Get(i));
                    result.Add(cmd);
                }
                if (pos > 0)
                {
                    Buffer.MemoryCopy(buffer + pos, buffer, input.Length, len - pos);
                    len -= pos;
                }
                if (fed == input.Length && size == int.MaxValue) break;
            }
            if (len > 0) error = "incomplete";
            return result;
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    static List<string[]> ParseAll(string input, out string? error) =>
        ParseChunked(Encoding.UTF8.GetBytes(input), [], out error);

    static readonly string[] Framings =
    [
        "*1\r\n$4\r\nPING\r\n",
        "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
        "*2\r\n$3\r\nGET\r\n$0\r\n\r\n",
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$12\r\nwith\r\nCRLF!!\r\n",
        "PING\r\n",
        "SET a b\n",
        "SET \"a b\" 'c d'\r\n",
        "  GET   x  \r\n",
        "*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n*1\r\n$4\r\nPING\r\nPING\r\n",
        "*0\r\n*1\r\n$4\r\nPING\r\n",
        "*-1\r\n*1\r\n$4\r\nPING\r\n",
        "\r\n*1\r\n$4\r\nPING\r\n",
    ];

    [Test]
    public void EveryFramingParsesTheSameAtEverySplitPoint([ValueSource(nameof(Framings))] string framing)
    {
        var bytes = Encoding.UTF8.GetBytes(framing);
        var whole = ParseChunked(bytes, [], out var err0);
        Assert.That(err0, Is.Null);
        Assert.That(whole, Is.Not.Empty);
        for (int split = 1; split < bytes.Length; split++)
        {
            var parts = ParseChunked(bytes, [split, bytes.Length - split], out var err);
            Assert.That(err, Is.Null, $"split at {split}");
            Assert.That(parts, Is.EqualTo(whole), $"split at {split}");
        }
        // Byte by byte too.
        var single = ParseChunked(bytes, Enumerable.Repeat(1, bytes.Length), out var err1);
        Assert.That(err1, Is.Null);
        Assert.That(single, Is.EqualTo(whole));
    }

    [Test]
    public void MultibulkArgumentsAreReadInPlace()
    {
        var cmds = ParseAll("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$12\r\nwith\r\nCRLF!!\r\n", out var err);
        Assert.That(err, Is.Null);
        Assert.That(cmds, Has.Count.EqualTo(1));
        Assert.That(cmds[0], Is.EqualTo(new[] { "SET", "k", "with\r\nCRLF!!" }));
    }

    [Test]
    public void InlineQuotesAndEscapesFollowSdsSplitArgs()
    {
        var cmds = ParseAll("SET \"a\\x41\\n\" 'it\\'s'\r\n", out var err);
        Assert.That(err, Is.Null);
        Assert.That(cmds[0], Is.EqualTo(new[] { "SET", "aA\n", "it's" }));
    }

    [TestCase("*abc\r\n", "ERR Protocol error: invalid multibulk length")]
    [TestCase("*3000000000\r\n", "ERR Protocol error: invalid multibulk length")]
    [TestCase("*+1\r\n", "ERR Protocol error: invalid multibulk length")]
    [TestCase("*01\r\n", "ERR Protocol error: invalid multibulk length")]
    [TestCase("*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length")]
    [TestCase("*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length")]
    [TestCase("*1\r\n$600000000\r\n", "ERR Protocol error: invalid bulk length")]
    [TestCase("*1\r\nx\r\n", "ERR Protocol error: expected '$', got 'x'")]
    [TestCase("*2\r\n$1\r\na\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'")]
    [TestCase("SET \"a b\r\n", "ERR Protocol error: unbalanced quotes in request")]
    [TestCase("SET 'a\r\n", "ERR Protocol error: unbalanced quotes in request")]
    [TestCase("SET \"a\"b\r\n", "ERR Protocol error: unbalanced quotes in request")]
    public void MalformedInputGetsRedisErrorText(string input, string expected)
    {
        ParseAll(input, out var err);
        Assert.That(err, Is.EqualTo(expected));
    }

    [Test]
    public void TooBigInlineRequest()
    {
        var big = new string('a', RespParser.InlineMaxSize + 10);
        ParseAll(big, out var err);
        Assert.That(err, Is.EqualTo("ERR Protocol error: too big inline request"));
    }

    [Test]
    public void TooBigCountStrings()
    {
        ParseAll("*" + new string('1', RespParser.InlineMaxSize + 10), out var err);
        Assert.That(err, Is.EqualTo("ERR Protocol error: too big mbulk count string"));
        ParseAll("*1\r\n$" + new string('1', RespParser.InlineMaxSize + 10), out err);
        Assert.That(err, Is.EqualTo("ERR Protocol error: too big bulk count string"));
    }

    [Test]
    public void IncompleteLargeBulkReportsTheBytesItNeeds()
    {
        var header = Encoding.ASCII.GetBytes("*2\r\n$3\r\nSET\r\n$1000000\r\nabc");
        var buffer = (byte*)NativeMemory.Alloc((nuint)header.Length);
        try
        {
            header.CopyTo(new Span<byte>(buffer, header.Length));
            using var args = new ArgList();
            var parser = new RespParser();
            var st = parser.Parse(buffer, header.Length, args, MaxBulk, out _);
            Assert.That(st, Is.EqualTo(ParseStatus.Incomplete));
            int dataStart = header.Length - 3;
            Assert.That(parser.NeedBytes, Is.EqualTo(dataStart + 1_000_000 + 2));
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    [Test]
    public void ThousandsOfPipelinedCommandsInOneBuffer()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 10_000; i++) sb.Append($"*3\r\n$3\r\nSET\r\n${("k" + i).Length}\r\nk{i}\r\n$1\r\nv\r\n");
        var cmds = ParseAll(sb.ToString(), out var err);
        Assert.That(err, Is.Null);
        Assert.That(cmds, Has.Count.EqualTo(10_000));
        Assert.That(cmds[9_999], Is.EqualTo(new[] { "SET", "k9999", "v" }));
    }

    [Test]
    public void ParsingDoesNotAllocate()
    {
        var input = Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\nGET key\r\n");
        var buffer = (byte*)NativeMemory.Alloc((nuint)input.Length);
        try
        {
            using var args = new ArgList();
            var parser = new RespParser();
            void Run()
            {
                input.CopyTo(new Span<byte>(buffer, input.Length));
                int pos = 0;
                while (pos < input.Length)
                {
                    parser.Parse(buffer + pos, input.Length - pos, args, MaxBulk, out int consumed);
                    pos += consumed;
                }
            }
            Run();
            Assert.That(AllocationProbe.Measure(() => { for (int i = 0; i < 1000; i++) Run(); }), Is.EqualTo(0));
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }
}
