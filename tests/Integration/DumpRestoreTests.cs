// DUMP and RESTORE: the payload is an RDB value with Redis's footer (version, CRC-64), so it moves between
// NativeKv and redis-server in both directions; RESTORE's options and every error text as Redis 7.
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class DumpRestoreTests : ServerFixture
{
    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    private byte[] Dump(string key)
    {
        var r = Call("DUMP", key);
        Assert.That(r.Type, Is.EqualTo(RespType.BulkString), r.ToString());
        return r.Bytes!;
    }

    private RespValue Restore(string key, string ttl, byte[] payload, params string[] options) =>
        Client.Call([System.Text.Encoding.ASCII.GetBytes("RESTORE"), System.Text.Encoding.UTF8.GetBytes(key), System.Text.Encoding.ASCII.GetBytes(ttl), payload, .. options.Select(o => System.Text.Encoding.ASCII.GetBytes(o))]);

    [Test]
    public void Dump_MissingKey_IsNil() => RespAssert.IsNil(Call("DUMP", "nokey"));

    [Test]
    public void Dump_PayloadFormat_TypeValueVersionCrc()
    {
        Client.Ok("SET", "k", "hello");
        var p = Dump("k");
        Assert.That(p.Length, Is.EqualTo(1 + 1 + 5 + 2 + 8));
        Assert.That(p[0], Is.EqualTo(0), "string type");
        Assert.That(p[1], Is.EqualTo(5));
        Assert.That(p[7] | p[8] << 8, Is.EqualTo(10), "RDB version 10");
        Client.Ok("SET", "n", "12345");
        Assert.That(Dump("n"), Has.Length.EqualTo(1 + 3 + 2 + 8), "integer-encoded (INT16)");
    }

    [Test]
    public void Restore_RoundTrip_WithTtlReplaceAbsTtl()
    {
        Client.Ok("SET", "src", new string('z', 1000));
        var payload = Dump("src");
        RespAssert.IsOk(Restore("dst", "0", payload));
        RespAssert.IsBulk(Call("GET", "dst"), new string('z', 1000));
        RespAssert.IsInteger(Call("TTL", "dst"), -1);
        RespAssert.IsError(Restore("dst", "0", payload), "BUSYKEY Target key name already exists.");
        RespAssert.IsOk(Restore("dst", "5000", payload, "REPLACE"));
        Assert.That(RespAssert.IsAnyInteger(Call("PTTL", "dst")), Is.InRange(4000, 5000));
        long at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 100_000;
        RespAssert.IsOk(Restore("abs", S(at), payload, "ABSTTL"));
        Assert.That(RespAssert.IsAnyInteger(Call("PEXPIRETIME", "abs")), Is.EqualTo(at));
        RespAssert.IsOk(Restore("past", "1", payload, "ABSTTL"));
        RespAssert.IsInteger(Call("EXISTS", "past"), 0);
        RespAssert.IsOk(Restore("idle", "0", payload, "IDLETIME", "100"));
        RespAssert.IsOk(Restore("freq", "0", payload, "FREQ", "10"));
        RespAssert.IsBulk(Call("GET", "freq"), new string('z', 1000));
    }

    [Test]
    public void Restore_Errors_AsRedis()
    {
        Client.Ok("SET", "src", "v");
        var payload = Dump("src");
        RespAssert.IsError(Restore("k", "-1", payload), "ERR Invalid TTL value, must be >= 0");
        RespAssert.IsError(Restore("k", "abc", payload), "ERR value is not an integer or out of range");
        RespAssert.IsError(Restore("k", "0", payload, "IDLETIME", "-1"), "ERR Invalid IDLETIME value, must be >= 0");
        RespAssert.IsError(Restore("k", "0", payload, "FREQ", "256"), "ERR Invalid FREQ value, must be >= 0 and <= 255");
        RespAssert.IsError(Restore("k", "0", payload, "FREQ", "1", "IDLETIME", "1"), "ERR syntax error");
        RespAssert.IsError(Restore("k", "0", payload, "BOGUS"), "ERR syntax error");
        RespAssert.IsError(Restore("k", "0", payload, "IDLETIME"), "ERR syntax error");
        RespAssert.IsError(Restore("src", "abc", payload), "BUSYKEY Target key name already exists.");
        var corrupt = (byte[])payload.Clone();
        corrupt[2] ^= 1;
        RespAssert.IsError(Restore("k", "0", corrupt), "ERR DUMP payload version or checksum are wrong");
        RespAssert.IsError(Restore("k", "0", "short"u8.ToArray()), "ERR DUMP payload version or checksum are wrong");
        var newer = (byte[])payload.Clone();
        newer[^10] = 99;
        RespAssert.IsError(Restore("k", "0", newer), "ERR DUMP payload version or checksum are wrong");
        RespAssert.IsError(Call("RESTORE", "k", "0"), "ERR wrong number of arguments for 'restore' command");
        RespAssert.IsError(Call("DUMP"), "ERR wrong number of arguments for 'dump' command");
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
    }

    [Test]
    public void Restore_BadDataWithValidChecksum_IsBadDataFormat()
    {
        // type 0 (string), a length that runs past the end (footer included), then a valid footer.
        byte[] body = [0, 60, (byte)'a', (byte)'b'];
        RespAssert.IsError(Restore("k", "0", WithFooter(body)), "ERR Bad data format");
        // an unknown type byte
        RespAssert.IsError(Restore("k", "0", WithFooter([200, 1, (byte)'a'])), "ERR Bad data format");
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
    }

    /// <summary>Appends RDB version 10 and the CRC-64 (Jones) of everything before it.</summary>
    internal static byte[] WithFooter(byte[] body)
    {
        var p = new byte[body.Length + 10];
        body.CopyTo(p, 0);
        p[body.Length] = 10;
        p[body.Length + 1] = 0;
        ulong crc = 0;
        for (int i = 0; i < body.Length + 2; i++)
        {
            crc ^= p[i];
            for (int b = 0; b < 8; b++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x95AC9329AC4BC9B5UL : crc >> 1;
        }
        BitConverter.GetBytes(crc).CopyTo(p, body.Length + 2);
        return p;
    }

    [Test]
    public void Aggregates_DumpRestoreBothWays()
    {
        using var dir = new DataDir();
        using var redis = RedisReference.Start(dir.Path);
        using var rc = redis.Connect();
        RespAssert.IsAnyInteger(rc.Call("SADD", "s1", "1", "2", "3"));
        RespAssert.IsAnyInteger(rc.Call("SADD", "s2", "x", "y"));
        RespAssert.IsAnyInteger(rc.Call("ZADD", "z1", "1", "a", "2.5", "b"));
        RespAssert.IsAnyInteger(rc.Call(["ZADD", "z2", .. Enumerable.Range(0, 200).SelectMany(i => new[] { S(i), "m" + S(i) })]));
        RespAssert.IsAnyInteger(rc.Call("RPUSH", "l1", "a", "1", "b"));
        RespAssert.IsAnyInteger(rc.Call("HSET", "h1", "f", "v", "g", "2"));
        foreach (var key in new[] { "s1", "s2", "z1", "z2", "l1", "h1" })
        {
            RespAssert.IsOk(Restore(key, "0", rc.Call("DUMP", key).Bytes!));
            var back = Dump(key);
            RespAssert.IsOk(rc.Call([System.Text.Encoding.ASCII.GetBytes("RESTORE"), System.Text.Encoding.ASCII.GetBytes("back:" + key), "0"u8.ToArray(), back]));
        }
        Assert.That(Call("SMEMBERS", "s1").AsStrings().Order(), Is.EqualTo(new[] { "1", "2", "3" }));
        RdbTests.EncodingIs(Client, "s1", "intset", "restored");
        Assert.That(Call("SMEMBERS", "s2").AsStrings().Order(), Is.EqualTo(new[] { "x", "y" }));
        Assert.That(Call("ZRANGE", "z1", "0", "-1", "WITHSCORES").AsStrings(), Is.EqualTo(new[] { "a", "1", "b", "2.5" }));
        RespAssert.IsInteger(Call("ZCARD", "z2"), 200);
        Assert.That(rc.Call("SMEMBERS", "back:s2").AsStrings().Order(), Is.EqualTo(new[] { "x", "y" }));
        Assert.That(rc.Call("ZRANGE", "back:z1", "0", "-1", "WITHSCORES").AsStrings(), Is.EqualTo(new[] { "a", "1", "b", "2.5" }));
        Assert.That(rc.Call("ZRANGE", "back:z2", "199", "199", "WITHSCORES").AsStrings(), Is.EqualTo(new[] { "m199", "199" }));
        Assert.That(Call("LRANGE", "l1", "0", "-1").AsStrings(), Is.EqualTo(new[] { "a", "1", "b" }));
        RespAssert.IsBulk(Call("HGET", "h1", "g"), "2");
        Assert.That(rc.Call("LRANGE", "back:l1", "0", "-1").AsStrings(), Is.EqualTo(new[] { "a", "1", "b" }));
        RespAssert.IsBulk(rc.Call("HGET", "back:h1", "f"), "v");
    }

    [Test]
    public void Payloads_MoveBetweenRedisServerAndHere()
    {
        using var dir = new DataDir();
        using var redis = RedisReference.Start(dir.Path);
        using var rc = redis.Connect();
        string[] values = ["1", "-70000", "plain text", new string('q', 500), ""];
        for (int i = 0; i < values.Length; i++)
        {
            rc.Ok("SET", "r" + S(i), values[i]);
            var fromRedis = rc.Call("DUMP", "r" + S(i)).Bytes!;
            RespAssert.IsOk(Restore("here" + S(i), "0", fromRedis));
            RespAssert.IsBulk(Call("GET", "here" + S(i)), values[i]);
            var fromHere = Dump("here" + S(i));
            RespAssert.IsOk(rc.Call([System.Text.Encoding.ASCII.GetBytes("RESTORE"), System.Text.Encoding.ASCII.GetBytes("back" + S(i)), "0"u8.ToArray(), fromHere]));
            RespAssert.IsBulk(rc.Call("GET", "back" + S(i)), values[i]);
        }
    }
}
