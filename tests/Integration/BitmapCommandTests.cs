// Bitmap commands beyond their replies (those are compared with redis-server in
// DifferentialBitmapTests): what they do to a key's TTL, the events they publish, their ACL category,
// the limits of offsets, scripts and transactions calling them, and a bitmap as large as a real one.
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class BitmapCommandTests : ServerFixture
{
    private const string BadOffset = "ERR bit offset is not an integer or out of range";

    [TestCase("setbit", "SETBIT", "k", "1")]
    [TestCase("getbit", "GETBIT", "k")]
    [TestCase("bitcount", "BITCOUNT")]
    [TestCase("bitpos", "BITPOS", "k")]
    [TestCase("bitop", "BITOP", "AND", "dest")]
    [TestCase("bitfield", "BITFIELD")]
    [TestCase("bitfield_ro", "BITFIELD_RO")]
    public void WrongArity_GetsRedisError(string name, params string[] cmd) =>
        RespAssert.IsError(Call(cmd), $"ERR wrong number of arguments for '{name}' command");

    [Test]
    public void SetBitAndBitField_KeepTheKeysTtl_BitOpReplacesTheDestinationWithoutOne()
    {
        RespAssert.IsOk(Call("SET", "b", "a", "EX", "100"));
        RespAssert.IsInteger(Call("SETBIT", "b", "100", "1"), 0);
        Assert.That(Call("TTL", "b").Integer, Is.InRange(90, 100));
        Assert.That(Call("BITFIELD", "b", "SET", "u8", "200", "7").AsStrings(), Is.EqualTo(new[] { "0" }));
        Assert.That(Call("TTL", "b").Integer, Is.InRange(90, 100));
        RespAssert.IsInteger(Call("STRLEN", "b"), 26);

        RespAssert.IsInteger(Call("LPUSH", "dest", "x"), 1);
        RespAssert.IsInteger(Call("EXPIRE", "dest", "100"), 1);
        RespAssert.IsInteger(Call("BITOP", "OR", "dest", "b"), 26);
        RespAssert.IsSimple(Call("TYPE", "dest"), "string");     // any type is overwritten, as SET does
        RespAssert.IsInteger(Call("TTL", "dest"), -1);
        RespAssert.IsInteger(Call("BITOP", "AND", "dest", "nokey"), 0);
        RespAssert.IsInteger(Call("EXISTS", "dest"), 0);      // an empty result deletes the destination
    }

    [Test]
    public void Offsets_StopAtProtoMaxBulkLen_AndHashOffsetsCountFields()
    {
        // The last bit of a 512 MB string is allowed (it is not written here: that would take 512 MB).
        RespAssert.IsInteger(Call("GETBIT", "b", "4294967295"), 0);
        RespAssert.IsError(Call("GETBIT", "b", "4294967296"), BadOffset);
        RespAssert.IsError(Call("SETBIT", "b", "-1", "1"), BadOffset);
        RespAssert.IsError(Call("BITFIELD", "b", "GET", "u8", "#536870912"), BadOffset);
        RespAssert.IsError(Call("BITFIELD", "b", "GET", "i64", "#9223372036854775807"), BadOffset);   // wraps negative
        RespAssert.IsOk(Call("CONFIG", "SET", "proto-max-bulk-len", "1mb"));
        try
        {
            RespAssert.IsError(Call("SETBIT", "b", (8L * 1024 * 1024).ToString(CultureInfo.InvariantCulture), "1"), BadOffset);
            RespAssert.IsInteger(Call("SETBIT", "b", (8L * 1024 * 1024 - 1).ToString(CultureInfo.InvariantCulture), "1"), 0);
            RespAssert.IsInteger(Call("STRLEN", "b"), 1024 * 1024);
        }
        finally
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "proto-max-bulk-len", "512mb"));
        }
        Assert.That(Call("BITFIELD", "f", "SET", "u4", "#3", "15", "GET", "u16", "0").AsStrings(), Is.EqualTo(new[] { "0", "15" }));
    }

    [Test]
    public void Writes_PublishSetbitOrSetEvents_AndBelongToTheBitmapCategory()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "notify-keyspace-events", "KEA"));
        try
        {
            using var sub = NewClient();
            sub.Call("PSUBSCRIBE", "__keyspace@0__:*");
            RespAssert.IsInteger(Call("SETBIT", "b", "3", "1"), 0);
            Call("BITFIELD", "b", "INCRBY", "u2", "0", "1");
            RespAssert.IsInteger(Call("BITOP", "NOT", "n", "b"), 1);
            Assert.That(sub.Read().AsStrings()[3], Is.EqualTo("setbit"));
            Assert.That(sub.Read().AsStrings()[3], Is.EqualTo("setbit"));
            Assert.That(sub.Read().AsStrings()[3], Is.EqualTo("set"));
        }
        finally
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "notify-keyspace-events", ""));
        }
        var bitmap = Call("ACL", "CAT", "bitmap").AsStrings().Order().ToArray();
        Assert.That(bitmap, Is.EqualTo(new[] { "bitcount", "bitfield", "bitfield_ro", "bitop", "bitpos", "getbit", "setbit" }));
        var info = Call("COMMAND", "INFO", "bitop").Items![0];
        RespAssert.IsInteger(info.Items![1], -4);
        RespAssert.IsInteger(info.Items[3], 2);
        RespAssert.IsInteger(info.Items[4], -1);
    }

    [Test]
    public void ScriptsAndTransactions_CallThem()
    {
        RespAssert.IsInteger(Call("EVAL", "redis.call('SETBIT', KEYS[1], 7, 1); return redis.call('BITCOUNT', KEYS[1])", "1", "b"), 1);
        RespAssert.IsError(Call("EVAL", "return redis.pcall('BITFIELD_RO', KEYS[1], 'SET', 'u8', 0, 1)", "1", "b"),
            "ERR BITFIELD_RO only supports the GET subcommand");
        RespAssert.IsOk(Call("MULTI"));
        RespAssert.IsSimple(Call("SETBIT", "b", "0", "1"), "QUEUED");
        RespAssert.IsSimple(Call("BITPOS", "b", "0"), "QUEUED");
        RespAssert.IsSimple(Call("GET", "b"), "QUEUED");
        var exec = Call("EXEC");
        Assert.That(exec.Items!.Select(i => i.Integer).Take(2), Is.EqualTo(new long[] { 0, 1 }));
        RespAssert.IsBulk(exec.Items![2], new byte[] { 0x81 });
    }

    [Test]
    public void AMillionFlags_CountAndSearch()
    {
        // One bit per user id, set in pipelined batches: 1,000,000 bits, every third one.
        const int Bits = 1_000_000;
        var batch = new List<byte[]>();
        for (int i = 0; i < Bits; i += 3)
        {
            batch.Add(RawClient.Encode("SETBIT", "users", i.ToString(CultureInfo.InvariantCulture), "1"));
            if (batch.Count == 5000 || i + 3 >= Bits)
            {
                Client.Send(batch.SelectMany(b => b).ToArray());
                for (int k = 0; k < batch.Count; k++) RespAssert.IsInteger(Client.Read(), 0);
                batch.Clear();
            }
        }
        RespAssert.IsInteger(Call("STRLEN", "users"), (Bits - 1) / 8 + 1);
        RespAssert.IsInteger(Call("BITCOUNT", "users"), (Bits + 2) / 3);
        RespAssert.IsInteger(Call("BITCOUNT", "users", "300000", "599999", "BIT"), 100_000);
        RespAssert.IsInteger(Call("BITPOS", "users", "1", "500000", "-1", "BIT"), 500_001);
        RespAssert.IsInteger(Call("BITPOS", "users", "0", "0", "-1", "BIT"), 1);
        RespAssert.IsInteger(Call("BITOP", "NOT", "others", "users"), (Bits - 1) / 8 + 1);
        RespAssert.IsInteger(Call("BITCOUNT", "others"), 8L * ((Bits - 1) / 8 + 1) - (Bits + 2) / 3);
    }
}
