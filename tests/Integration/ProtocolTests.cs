// The RESP protocol on a raw socket (Redis's tests/unit/protocol.tcl): pipelining, inline commands with
// quoting, commands split across many writes, very large arguments, and every malformed form, each of
// which must get Redis's exact error and then a closed connection. Runs alone ([NonParallelizable]):
// the large-value tests move hundreds of megabytes and would disturb timing-sensitive tests elsewhere.
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[NonParallelizable]
public sealed class ProtocolTests : ServerFixture
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Sends <paramref name="raw"/>, expects exactly the error <paramref name="error"/>, then a closed connection.</summary>
    private void AssertProtocolError(byte[] raw, string error)
    {
        Client.Send(raw);
        RespAssert.IsError(Client.Read(), error);
        Assert.That(Client.WaitForClose(CloseTimeout), Is.True, "the server must close the connection after a protocol error");
        // The server itself is fine.
        using var fresh = NewClient();
        RespAssert.IsSimple(fresh.Call("PING"), "PONG");
    }

    private void AssertProtocolError(string raw, string error) => AssertProtocolError(Encoding.ASCII.GetBytes(raw), error);

    // ---- pipelining ----

    [Test]
    public void Pipeline_HotSetHashAndSortedSet_MembersReadAhead_RepliesAreExact()
    {
        // Runs of one hot set, hash and sorted set in their table forms (the look-ahead then prefetches
        // members, not keys), members new and present, and a run where the set is deleted and comes back
        // as an intset halfway: every reply as if nothing looked ahead.
        for (int i = 0; i < 300; i++) Client.Call("SADD", "hs:set", "m" + i);
        for (int i = 0; i < 300; i++) Client.Call("HSET", "hs:hash", "f" + i, "v");
        for (int i = 0; i < 300; i++) Client.Call("ZADD", "hs:zset", i.ToString(), "m" + i);
        var request = new MemoryStream();
        var expected = new List<Action<RespValue>>();
        for (int i = 250; i < 350; i++)
        {
            long added = i < 300 ? 0 : 1;
            request.Write(RawClient.Encode("SADD", "hs:set", "m" + i));
            expected.Add(r => RespAssert.IsInteger(r, added));
            request.Write(RawClient.Encode("HSET", "hs:hash", "f" + i, "w"));
            expected.Add(r => RespAssert.IsInteger(r, added));
        }
        for (int i = 250; i < 350; i++)
        {
            long added = i < 300 ? 0 : 1;
            request.Write(RawClient.Encode("ZADD", "hs:zset", (1000 - i).ToString(), "m" + i));
            expected.Add(r => RespAssert.IsInteger(r, added));
        }
        for (int i = 0; i < 40; i++)
        {
            if (i == 20)
            {
                request.Write(RawClient.Encode("DEL", "hs:set"));
                expected.Add(r => RespAssert.IsInteger(r, 1));
            }
            request.Write(RawClient.Encode("SADD", "hs:set", i.ToString()));
            expected.Add(r => RespAssert.IsInteger(r, 1));
        }
        Client.Send(request.ToArray());
        foreach (var check in expected) check(Client.Read());
        RespAssert.IsInteger(Client.Call("SCARD", "hs:set"), 20);
        RespAssert.IsBulk(Client.Call("OBJECT", "ENCODING", "hs:set"), "intset");
        RespAssert.IsInteger(Client.Call("HLEN", "hs:hash"), 350);
        RespAssert.IsBulk(Client.Call("HGET", "hs:hash", "f260"), "w");
        RespAssert.IsInteger(Client.Call("ZCARD", "hs:zset"), 350);
        RespAssert.IsBulk(Client.Call("ZSCORE", "hs:zset", "m260"), "740");
        RespAssert.IsInteger(Client.Call("ZRANK", "hs:zset", "m349"), 250);   // after m0..m249 (scores 0..249)
    }

    [Test]
    public void Pipeline_KeysReadAheadAcrossDatabasesHotKeysAndASplitCommand_RepliesAreExact()
    {
        // One write with what the server's look-ahead (KeyPrefetch) guesses at: distinct keys, a SELECT in
        // the middle (the guesses after it are for the wrong database), inline commands, a run on one hot
        // key (which pauses the look-ahead), then distinct keys again; the last command arrives in two parts.
        var request = new MemoryStream();
        var expected = new List<Action<RespValue>>();
        for (int i = 0; i < 100; i++)
        {
            request.Write(RawClient.Encode("SET", "pf:" + i, "v" + i));
            expected.Add(r => RespAssert.IsOk(r));
        }
        request.Write(RawClient.Encode("SELECT", "3"));
        expected.Add(r => RespAssert.IsOk(r));
        for (int i = 0; i < 50; i++)
        {
            request.Write(Encoding.ASCII.GetBytes($"GET pf:{i}\r\n"));
            expected.Add(r => RespAssert.IsNil(r));
        }
        for (int i = 0; i < 60; i++)
        {
            int n = i + 1;
            request.Write(RawClient.Encode("RPUSH", "pf:hot", "x"));
            expected.Add(r => RespAssert.IsInteger(r, n));
        }
        request.Write(RawClient.Encode("SELECT", "0"));
        expected.Add(r => RespAssert.IsOk(r));
        for (int i = 99; i >= 0; i--)
        {
            string v = "v" + i;
            request.Write(RawClient.Encode("GET", "pf:" + i));
            expected.Add(r => RespAssert.IsBulk(r, v));
        }
        byte[] bytes = request.ToArray();
        byte[] last = RawClient.Encode("APPEND", "pf:0", "-tail");
        Client.Send(bytes.Concat(last.Take(last.Length / 2)).ToArray());
        foreach (var check in expected) check(Client.Read());
        Thread.Sleep(50);
        Client.Send(last.Skip(last.Length / 2).ToArray());
        RespAssert.IsInteger(Client.Read(), "v0-tail".Length);
        RespAssert.IsBulk(Client.Call("GET", "pf:0"), "v0-tail");
        Client.Ok("SELECT", "3");
        RespAssert.IsInteger(Client.Call("LLEN", "pf:hot"), 60);
        RespAssert.IsInteger(Client.Call("DBSIZE"), 1);
    }

    [Test]
    public void Pipeline_TenThousandCommandsInOneWrite_AllRepliesArriveInOrder()
    {
        const int Count = 10_000;
        var request = new MemoryStream();
        for (int i = 0; i < Count; i++)
        {
            request.Write(i % 2 == 0 ? RawClient.Encode("INCR", "counter") : RawClient.Encode("ECHO", "e" + i));
        }
        byte[] bytes = request.ToArray();
        // Send from another thread so a server that replies while reading cannot deadlock on full buffers.
        var send = Task.Run(() => Client.Send(bytes));
        for (int i = 0; i < Count; i++)
        {
            var reply = Client.Read();
            if (i % 2 == 0)
            {
                RespAssert.IsInteger(reply, i / 2 + 1);
            }
            else
            {
                RespAssert.IsBulk(reply, "e" + i);
            }
        }
        send.GetAwaiter().GetResult();
        Assert.That(Client.ReadRaw(TimeSpan.FromMilliseconds(100)), Is.Empty, "no extra replies");
    }

    [Test]
    public void Pipeline_CommandSentOneByteAtATime_IsParsedWhole()
    {
        byte[] command = [.. RawClient.Encode("SET", "key", "a value"), .. "GET key\r\n"u8];
        foreach (byte b in command)
        {
            Client.Send([b]);
            Thread.Sleep(1);
        }
        RespAssert.IsOk(Client.Read());
        RespAssert.IsBulk(Client.Read(), "a value");
    }

    [Test]
    public void Pipeline_InlineAndMultibulkMixed()
    {
        Client.Send([.. "SET a 1\r\n"u8, .. RawClient.Encode("INCR", "a"), .. "INCR a\nGET a\r\n"u8]);
        RespAssert.IsOk(Client.Read());
        RespAssert.IsInteger(Client.Read(), 2);
        RespAssert.IsInteger(Client.Read(), 3);
        RespAssert.IsBulk(Client.Read(), "3");
    }

    // ---- inline commands ----

    [Test]
    public void Inline_Ping()
    {
        Client.Send("PING\r\n");
        RespAssert.IsSimple(Client.Read(), "PONG");
        Client.Send("ping\n");
        RespAssert.IsSimple(Client.Read(), "PONG");
    }

    [Test]
    public void Inline_SetAndGet()
    {
        Client.Send("SET a b\r\n");
        RespAssert.IsOk(Client.Read());
        Client.Send("GET    a  \r\n");
        RespAssert.IsBulk(Client.Read(), "b");
    }

    [TestCase("SET k \"\\x41\\x42\"\r\n", "AB")]
    [TestCase("SET k \"a b\"\r\n", "a b")]
    [TestCase("SET k \"tab\\there\\nnl\"\r\n", "tab\there\nnl")]
    [TestCase("SET k \"q\\\"uote\\\\\"\r\n", "q\"uote\\")]
    [TestCase("SET k 'single quoted'\r\n", "single quoted")]
    [TestCase("SET k 'it\\'s'\r\n", "it's")]
    [TestCase("SET k 'no \\x41 escapes'\r\n", "no \\x41 escapes")]
    [TestCase("SET k \"\"\r\n", "")]
    public void Inline_QuotedArguments(string line, string expected)
    {
        Client.Send(line);
        RespAssert.IsOk(Client.Read());
        RespAssert.IsBulk(Call("GET", "k"), expected);
    }

    [Test]
    public void Inline_QuotedKeyWithSpaces()
    {
        Client.Send("SET \"my key\" v\r\n");
        RespAssert.IsOk(Client.Read());
        RespAssert.IsBulk(Call("GET", "my key"), "v");
    }

    [Test]
    public void Inline_EmptyLinesAreIgnored()
    {
        Client.Send("\r\n\r\n   \r\n\nPING\r\n");
        RespAssert.IsSimple(Client.Read(), "PONG");
        Assert.That(Client.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty, "empty lines get no reply");
    }

    [TestCase("SET \"a b\r\n")]
    [TestCase("SET 'a b\r\n")]
    [TestCase("SET \"a\"b c\r\n")]
    public void Inline_UnbalancedQuotes_IsProtocolError(string line) =>
        AssertProtocolError(line, "ERR Protocol error: unbalanced quotes in request");

    [Test]
    public void Inline_TooBigWithoutNewline_IsProtocolError()
    {
        // 64 KiB is Redis's PROTO_INLINE_MAX_SIZE; one byte more and no newline in sight.
        var raw = new byte[64 * 1024 + 1];
        raw.AsSpan().Fill((byte)'a');
        AssertProtocolError(raw, "ERR Protocol error: too big inline request");
    }

    // ---- multibulk ----

    [Test]
    public void Multibulk_NullAndEmptyArraysAreIgnored()
    {
        Client.Send([.. "*-1\r\n*0\r\n"u8, .. RawClient.Encode("PING")]);
        RespAssert.IsSimple(Client.Read(), "PONG");
        Assert.That(Client.ReadRaw(TimeSpan.FromMilliseconds(200)), Is.Empty, "*-1 and *0 get no reply");
    }

    [TestCase("*abc\r\n", "ERR Protocol error: invalid multibulk length")]
    [TestCase("*3000000000\r\n", "ERR Protocol error: invalid multibulk length")]
    [TestCase("*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length")]
    [TestCase("*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length")]
    [TestCase("*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length")]
    [TestCase("*1\r\n$600000000\r\n", "ERR Protocol error: invalid bulk length")]
    [TestCase("*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length")]
    [TestCase("*1\r\nx\r\n", "ERR Protocol error: expected '$', got 'x'")]
    [TestCase("*2\r\n$4\r\nECHO\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'")]
    public void Multibulk_Malformed_IsProtocolErrorAndCloses(string raw, string error) => AssertProtocolError(raw, error);

    [Test]
    public void Multibulk_TooBigCountString_IsProtocolError()
    {
        var raw = new byte[64 * 1024 + 2];
        raw.AsSpan().Fill((byte)'1');
        raw[0] = (byte)'*';
        AssertProtocolError(raw, "ERR Protocol error: too big mbulk count string");
    }

    [Test]
    public void Multibulk_TooBigBulkCountString_IsProtocolError()
    {
        var raw = new byte[4 + 64 * 1024 + 2];
        raw.AsSpan().Fill((byte)'1');
        "*1\r\n$"u8.CopyTo(raw);
        AssertProtocolError(raw, "ERR Protocol error: too big bulk count string");
    }

    [Test]
    public void ProtocolError_EarlierCommandsStillGetTheirReplies()
    {
        Client.Send([.. RawClient.Encode("SET", "k", "v"), .. "PING\r\n*abc\r\n"u8]);
        RespAssert.IsOk(Client.Read());
        RespAssert.IsSimple(Client.Read(), "PONG");
        RespAssert.IsError(Client.Read(), "ERR Protocol error: invalid multibulk length");
        Assert.That(Client.WaitForClose(CloseTimeout), Is.True);
        using var fresh = NewClient();
        RespAssert.IsBulk(fresh.Call("GET", "k"), "v");
    }

    [Test]
    public void Multibulk_ArgumentsMayContainCrlfAndZeroBytes()
    {
        byte[] value = "line1\r\nline2\0end"u8.ToArray();
        RespAssert.IsOk(Client.Call("SET"u8.ToArray(), "k\r\n"u8.ToArray(), value));
        RespAssert.IsBulk(Client.Call("GET"u8.ToArray(), "k\r\n"u8.ToArray()), value);
    }

    // ---- large arguments ----

    /// <summary>
    /// Streams <c>SET key &lt;size bytes&gt;</c> in 64 KiB writes (deterministic pseudo-random content),
    /// then reads it back with GET and compares length and SHA-256.
    /// </summary>
    private void SetAndGetLarge(long size)
    {
        const int Chunk = 64 * 1024;
        var chunk = new byte[Chunk];
        new Random(12345).NextBytes(chunk);
        using var sentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var sw = Stopwatch.StartNew();
        Client.ReadTimeout = TimeSpan.FromSeconds(60);
        Client.SendBulkHeader("SET", "big", size);
        long sent = 0;
        for (long i = 0; sent < size; i++)
        {
            // Vary each chunk a little so a misplaced chunk changes the hash.
            BitConverter.TryWriteBytes(chunk.AsSpan(0, 8), i);
            int n = (int)Math.Min(Chunk, size - sent);
            Client.Send(chunk.AsSpan(0, n));
            sentHash.AppendData(chunk, 0, n);
            sent += n;
        }
        Client.Send("\r\n"u8);
        RespAssert.IsOk(Client.Read());
        var sendTime = sw.Elapsed;
        RespAssert.IsInteger(Call("STRLEN", "big"), size);
        var reply = Call("GET", "big");
        Assert.That(reply.Type, Is.EqualTo(RespType.BulkString));
        Assert.That(reply.Bytes!.LongLength, Is.EqualTo(size));
        Assert.That(Convert.ToHexString(SHA256.HashData(reply.Bytes)), Is.EqualTo(Convert.ToHexString(sentHash.GetHashAndReset())),
            "GET returned different bytes than SET stored");
        TestContext.Out.WriteLine($"{size >> 20} MiB: SET in {sendTime.TotalSeconds:0.00} s, total {sw.Elapsed.TotalSeconds:0.00} s");
        RespAssert.IsInteger(Call("DEL", "big"), 1);
    }

    [Test]
    public void LargeArgument_100MB_SentInSmallChunks_RoundTrips() => SetAndGetLarge(100L * 1024 * 1024);

    [Test]
    [Category(TestTarget.Large)]
    public void LargeArgument_512MB_TheProtocolMaximum_RoundTrips() => SetAndGetLarge(512L * 1024 * 1024);
}
