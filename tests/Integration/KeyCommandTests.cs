// Keyspace commands (Redis's tests/unit/keyspace.tcl, expire.tcl, scan.tcl): deletion, existence, TTLs
// with the NX/XX/GT/LT rules, renames and copies across databases, pattern matching, SCAN's guarantee,
// database-wide commands, and expiry that really happens (lazily on access and actively in background).
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class KeyCommandTests : ServerFixture
{
    private const string NotInteger = "ERR value is not an integer or out of range";
    private const string Syntax = "ERR syntax error";
    private const string DbOutOfRange = "ERR DB index is out of range";

    private static long NowSeconds => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    // ---- DEL UNLINK EXISTS ----

    [TestCase("DEL")]
    [TestCase("UNLINK")]
    public void Delete_CountsOnlyKeysThatExisted(string command)
    {
        RespAssert.IsOk(Call("MSET", "a", "1", "b", "2", "c", "3"));
        RespAssert.IsInteger(Call(command, "a", "nokey", "b", "a"), 2);
        RespAssert.IsInteger(Call("EXISTS", "a", "b", "c"), 1);
        RespAssert.IsInteger(Call(command, "nokey"), 0);
        RespAssert.IsError(Call(command), $"ERR wrong number of arguments for '{command.ToLowerInvariant()}' command");
    }

    [Test]
    public void Exists_CountsRepeatedKeysEachTime()
    {
        RespAssert.IsOk(Call("SET", "a", "1"));
        RespAssert.IsInteger(Call("EXISTS", "a"), 1);
        RespAssert.IsInteger(Call("EXISTS", "a", "a", "nokey", "a"), 3);
        RespAssert.IsInteger(Call("EXISTS", "nokey"), 0);
    }

    // ---- EXPIRE family ----

    [Test]
    public void Expire_SetsTtl_OnExistingKeyOnly()
    {
        RespAssert.IsInteger(Call("EXPIRE", "nokey", "100"), 0);
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsInteger(Call("EXPIRE", "k", "100"), 1);
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(98, 100));
        RespAssert.IsInteger(Call("PEXPIRE", "k", "200000"), 1);
        Assert.That(RespAssert.IsAnyInteger(Call("PTTL", "k")), Is.InRange(198_000, 200_000));
    }

    [Test]
    public void ExpireAt_And_PExpireAt_SetAbsoluteTimes()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        long at = NowSeconds + 500;
        RespAssert.IsInteger(Call("EXPIREAT", "k", S(at)), 1);
        RespAssert.IsInteger(Call("EXPIRETIME", "k"), at);
        RespAssert.IsInteger(Call("PEXPIRETIME", "k"), at * 1000);
        long atMs = (NowMs + 600_000) / 1000 * 1000 + 700; // EXPIRETIME rounds to the nearest second
        RespAssert.IsInteger(Call("PEXPIREAT", "k", S(atMs)), 1);
        RespAssert.IsInteger(Call("PEXPIRETIME", "k"), atMs);
        RespAssert.IsInteger(Call("EXPIRETIME", "k"), (atMs + 500) / 1000);
        RespAssert.IsInteger(Call("EXPIREAT", "nokey", S(at)), 0);
    }

    [TestCase("EXPIRE", "-1")]
    [TestCase("EXPIRE", "0")]
    [TestCase("PEXPIRE", "-100")]
    [TestCase("EXPIREAT", "1")]
    [TestCase("PEXPIREAT", "1000")]
    public void Expire_InThePast_DeletesTheKey(string command, string time)
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsInteger(Call(command, "k", time), 1);
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
        RespAssert.IsInteger(Call("TTL", "k"), -2);
    }

    [Test]
    public void Expire_NxAndXx()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsInteger(Call("EXPIRE", "k", "100", "XX"), 0);
        RespAssert.IsInteger(Call("TTL", "k"), -1);
        RespAssert.IsInteger(Call("EXPIRE", "k", "100", "NX"), 1);
        RespAssert.IsInteger(Call("EXPIRE", "k", "50", "NX"), 0);
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(98, 100));
        RespAssert.IsInteger(Call("EXPIRE", "k", "200", "XX"), 1);
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(198, 200));
    }

    [Test]
    public void Expire_GtAndLt()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        // A key without TTL counts as an infinite TTL: GT never applies, LT always does.
        RespAssert.IsInteger(Call("EXPIRE", "k", "100", "GT"), 0);
        RespAssert.IsInteger(Call("TTL", "k"), -1);
        RespAssert.IsInteger(Call("EXPIRE", "k", "100", "LT"), 1);
        RespAssert.IsInteger(Call("EXPIRE", "k", "200", "LT"), 0);
        RespAssert.IsInteger(Call("EXPIRE", "k", "50", "GT"), 0);
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(98, 100));
        RespAssert.IsInteger(Call("EXPIRE", "k", "300", "GT"), 1);
        RespAssert.IsInteger(Call("PEXPIRE", "k", "150000", "LT"), 1);
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(148, 150));
        RespAssert.IsInteger(Call("EXPIRE", "k", "400", "XX", "GT"), 1);
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(398, 400));
    }

    [TestCase("NX", "XX")]
    [TestCase("NX", "GT")]
    [TestCase("NX", "LT")]
    public void Expire_NxWithOtherOptions_IsIncompatible(string a, string b)
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsError(Call("EXPIRE", "k", "100", a, b), "ERR NX and XX, GT or LT options at the same time are not compatible");
        RespAssert.IsInteger(Call("TTL", "k"), -1);
    }

    [Test]
    public void Expire_OptionErrors()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsError(Call("EXPIRE", "k", "100", "GT", "LT"), "ERR GT and LT options at the same time are not compatible");
        RespAssert.IsError(Call("PEXPIRE", "k", "100", "FOO"), "ERR Unsupported option FOO");
        RespAssert.IsError(Call("EXPIRE", "k", "abc"), NotInteger);
        RespAssert.IsError(Call("EXPIRE", "k", "1.5"), NotInteger);
        RespAssert.IsError(Call("EXPIRE", "k"), "ERR wrong number of arguments for 'expire' command");
        RespAssert.IsInteger(Call("TTL", "k"), -1);
    }

    [TestCase("EXPIRE", "9223372036854775807")]
    [TestCase("EXPIRE", "-9223372036854775808")]
    [TestCase("EXPIRE", "9223372036854775")]
    [TestCase("PEXPIRE", "9223372036854775807")]
    [TestCase("EXPIREAT", "9223372036854775807")]
    public void Expire_Overflow_RepliesInvalidExpireTime(string command, string time)
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsError(Call(command, "k", time), $"ERR invalid expire time in '{command.ToLowerInvariant()}' command");
        RespAssert.IsInteger(Call("TTL", "k"), -1);
    }

    [Test]
    public void TtlFamily_MissingKeyAndNoTtl()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        foreach (var cmd in new[] { "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME" })
        {
            RespAssert.IsInteger(Call(cmd, "nokey"), -2);
            RespAssert.IsInteger(Call(cmd, "k"), -1);
        }
    }

    [Test]
    public void Persist_RemovesTtl()
    {
        RespAssert.IsInteger(Call("PERSIST", "nokey"), 0);
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsInteger(Call("PERSIST", "k"), 0);
        RespAssert.IsInteger(Call("EXPIRE", "k", "100"), 1);
        RespAssert.IsInteger(Call("PERSIST", "k"), 1);
        RespAssert.IsInteger(Call("TTL", "k"), -1);
    }

    [Test]
    public void Type_OfStringAndMissingKey()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsSimple(Call("TYPE", "k"), "string");
        RespAssert.IsSimple(Call("TYPE", "nokey"), "none");
    }

    // ---- RENAME RENAMENX ----

    [Test]
    public void Rename_MovesValueAndTtl_OverwritingTarget()
    {
        RespAssert.IsOk(Call("SET", "src", "v", "EX", "100"));
        RespAssert.IsOk(Call("SET", "dst", "old"));
        RespAssert.IsOk(Call("RENAME", "src", "dst"));
        RespAssert.IsInteger(Call("EXISTS", "src"), 0);
        RespAssert.IsBulk(Call("GET", "dst"), "v");
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "dst")), Is.InRange(98, 100));
    }

    [Test]
    public void Rename_TargetTtlDoesNotSurvive()
    {
        RespAssert.IsOk(Call("SET", "src", "v"));
        RespAssert.IsOk(Call("SET", "dst", "old", "EX", "100"));
        RespAssert.IsOk(Call("RENAME", "src", "dst"));
        RespAssert.IsInteger(Call("TTL", "dst"), -1);
    }

    [Test]
    public void Rename_Errors_AndSameName()
    {
        RespAssert.IsError(Call("RENAME", "nokey", "x"), "ERR no such key");
        RespAssert.IsError(Call("RENAMENX", "nokey", "x"), "ERR no such key");
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsOk(Call("RENAME", "k", "k"));
        RespAssert.IsInteger(Call("RENAMENX", "k", "k"), 0);
        RespAssert.IsBulk(Call("GET", "k"), "v");
    }

    [Test]
    public void RenameNx_RenamesOnlyToMissingKey()
    {
        RespAssert.IsOk(Call("MSET", "a", "1", "b", "2"));
        RespAssert.IsInteger(Call("RENAMENX", "a", "b"), 0);
        RespAssert.IsArray(Call("MGET", "a", "b"), "1", "2");
        RespAssert.IsInteger(Call("RENAMENX", "a", "c"), 1);
        RespAssert.IsArray(Call("MGET", "a", "c"), null, "1");
    }

    // ---- COPY MOVE ----

    [Test]
    public void Copy_DuplicatesValueAndTtl()
    {
        RespAssert.IsOk(Call("SET", "a", "v", "EX", "100"));
        RespAssert.IsInteger(Call("COPY", "a", "b"), 1);
        RespAssert.IsArray(Call("MGET", "a", "b"), "v", "v");
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "b")), Is.InRange(98, 100));
        // The copy is independent of the source.
        RespAssert.IsInteger(Call("APPEND", "b", "2"), 2);
        RespAssert.IsBulk(Call("GET", "a"), "v");
    }

    [Test]
    public void Copy_ExistingTarget_NeedsReplace()
    {
        RespAssert.IsOk(Call("MSET", "a", "1", "b", "2"));
        RespAssert.IsInteger(Call("COPY", "a", "b"), 0);
        RespAssert.IsBulk(Call("GET", "b"), "2");
        RespAssert.IsInteger(Call("COPY", "a", "b", "REPLACE"), 1);
        RespAssert.IsBulk(Call("GET", "b"), "1");
        RespAssert.IsInteger(Call("COPY", "nokey", "b", "REPLACE"), 0);
        RespAssert.IsBulk(Call("GET", "b"), "1");
    }

    [Test]
    public void Copy_ToAnotherDatabase()
    {
        RespAssert.IsOk(Call("SET", "a", "v"));
        RespAssert.IsInteger(Call("COPY", "a", "a", "DB", "1"), 1);
        RespAssert.IsInteger(Call("COPY", "a", "a", "DB", "1"), 0);
        RespAssert.IsOk(Call("SELECT", "1"));
        RespAssert.IsBulk(Call("GET", "a"), "v");
        RespAssert.IsInteger(Call("DBSIZE"), 1);
    }

    [Test]
    public void Copy_Errors()
    {
        RespAssert.IsOk(Call("SET", "a", "v"));
        RespAssert.IsError(Call("COPY", "a", "a"), "ERR source and destination objects are the same");
        RespAssert.IsError(Call("COPY", "a", "b", "DB", "16"), DbOutOfRange);
        RespAssert.IsError(Call("COPY", "a", "b", "DB", "abc"), NotInteger);
        RespAssert.IsError(Call("COPY", "a", "b", "FOO"), Syntax);
        RespAssert.IsInteger(Call("EXISTS", "b"), 0);
    }

    [Test]
    public void Move_ToAnotherDatabase()
    {
        RespAssert.IsOk(Call("SET", "a", "v", "EX", "100"));
        RespAssert.IsInteger(Call("MOVE", "a", "2"), 1);
        RespAssert.IsInteger(Call("EXISTS", "a"), 0);
        RespAssert.IsInteger(Call("MOVE", "a", "2"), 0);
        RespAssert.IsOk(Call("SELECT", "2"));
        RespAssert.IsBulk(Call("GET", "a"), "v");
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "a")), Is.InRange(98, 100));
    }

    [Test]
    public void Move_ExistingTarget_LeavesBothAlone()
    {
        RespAssert.IsOk(Call("SET", "a", "0"));
        RespAssert.IsOk(Call("SELECT", "3"));
        RespAssert.IsOk(Call("SET", "a", "3"));
        RespAssert.IsOk(Call("SELECT", "0"));
        RespAssert.IsInteger(Call("MOVE", "a", "3"), 0);
        RespAssert.IsBulk(Call("GET", "a"), "0");
    }

    [Test]
    public void Move_Errors()
    {
        RespAssert.IsOk(Call("SET", "a", "v"));
        RespAssert.IsError(Call("MOVE", "a", "0"), "ERR source and destination objects are the same");
        RespAssert.IsError(Call("MOVE", "a", "16"), DbOutOfRange);
        RespAssert.IsError(Call("MOVE", "a", "abc"), NotInteger);
        RespAssert.IsBulk(Call("GET", "a"), "v");
    }

    // ---- KEYS ----

    private static readonly string[] s_patternKeys =
        ["hello", "hallo", "hxllo", "hllo", "heeello", "a*b", "axb", "a?b", "a[b", "a\\b", "a-b", "abc"];

    [TestCase("h?llo", "hallo", "hello", "hxllo")]
    [TestCase("h*llo", "hallo", "heeello", "hello", "hllo", "hxllo")]
    [TestCase("h[ae]llo", "hallo", "hello")]
    [TestCase("h[^e]llo", "hallo", "hxllo")]
    [TestCase("h[a-b]llo", "hallo")]
    [TestCase("h[b-a]llo", "hallo")]
    [TestCase("a\\*b", "a*b")]
    [TestCase("a\\?b", "a?b")]
    [TestCase("a[[]b", "a[b")]
    [TestCase("a\\\\b", "a\\b")]
    [TestCase("a[\\-]b", "a-b")]
    [TestCase("a[*]b", "a*b")]
    [TestCase("a?b", "a*b", "a-b", "a?b", "a[b", "a\\b", "axb")]
    [TestCase("nomatch*")]
    [TestCase("hello", "hello")]
    public void Keys_GlobPatterns(string pattern, params string[] expected)
    {
        var mset = new List<string> { "MSET" };
        foreach (var k in s_patternKeys)
        {
            mset.Add(k);
            mset.Add("1");
        }
        RespAssert.IsOk(Call([.. mset]));
        RespAssert.IsSet(Call("KEYS", pattern), expected);
    }

    [Test]
    public void Keys_Star_ReturnsAllKeysOfTheSelectedDatabaseOnly()
    {
        RespAssert.IsOk(Call("MSET", "a", "1", "b", "2"));
        RespAssert.IsOk(Call("SELECT", "1"));
        RespAssert.IsOk(Call("SET", "c", "3"));
        RespAssert.IsSet(Call("KEYS", "*"), "c");
        RespAssert.IsOk(Call("SELECT", "0"));
        RespAssert.IsSet(Call("KEYS", "*"), "a", "b");
    }

    // ---- SCAN ----

    private void FillKeys(int count, string prefix = "key:")
    {
        const int Batch = 500;
        for (int i = 0; i < count; i += Batch)
        {
            var args = new List<string> { "MSET" };
            for (int j = i; j < Math.Min(count, i + Batch); j++)
            {
                args.Add(prefix + S(j));
                args.Add(S(j));
            }
            RespAssert.IsOk(Call([.. args]));
        }
    }

    /// <summary>Runs a full SCAN iteration and returns every key returned (with repeats) and the call count.</summary>
    private (List<string> Keys, int Calls) ScanAll(params string[] options)
    {
        var keys = new List<string>();
        string cursor = "0";
        int calls = 0;
        do
        {
            var reply = Call(["SCAN", cursor, .. options]);
            Assert.That(reply.Type, Is.EqualTo(RespType.Array), reply.ToString());
            Assert.That(reply.Items!, Has.Length.EqualTo(2), reply.ToString());
            Assert.That(reply.Items![0].Type, Is.EqualTo(RespType.BulkString), "the cursor is a bulk string: " + reply);
            cursor = reply.Items[0].Text!;
            Assert.That(ulong.TryParse(cursor, out _), Is.True, "cursor is an unsigned integer: " + reply);
            keys.AddRange(reply.Items[1].AsStrings()!.Select(k => k!));
            calls++;
            Assert.That(calls, Is.LessThan(100_000), "SCAN does not terminate");
        }
        while (cursor != "0");
        return (keys, calls);
    }

    [Test]
    public void Scan_FullIteration_ReturnsEveryKey()
    {
        FillKeys(1000);
        var (keys, calls) = ScanAll("COUNT", "10");
        var expected = Enumerable.Range(0, 1000).Select(i => "key:" + S(i));
        Assert.That(keys.Distinct(), Is.EquivalentTo(expected));
        Assert.That(calls, Is.GreaterThan(10), "COUNT 10 over 1000 keys should take many calls");
    }

    [Test]
    public void Scan_WhileKeysAreAddedAndRemoved_ReturnsEveryKeyPresentThroughout()
    {
        FillKeys(500, "stable:");
        var seen = new HashSet<string>();
        string cursor = "0";
        int round = 0;
        do
        {
            var reply = Call("SCAN", cursor, "COUNT", "20");
            cursor = reply.Items![0].Text!;
            foreach (var k in reply.Items[1].AsStrings())
            {
                seen.Add(k!);
            }
            // Churn: add and delete other keys between calls (may force the index to grow).
            FillKeys(50, "churn" + S(round) + ":");
            if (round > 0)
            {
                RespAssert.IsInteger(Call(["DEL", .. Enumerable.Range(0, 50).Select(i => "churn" + S(round - 1) + ":" + S(i))]), 50);
            }
            round++;
        }
        while (cursor != "0");
        var missing = Enumerable.Range(0, 500).Select(i => "stable:" + S(i)).Where(k => !seen.Contains(k)).ToList();
        Assert.That(missing, Is.Empty, "keys present during the whole scan must be returned");
    }

    [Test]
    public void Scan_Match_FiltersKeys()
    {
        FillKeys(200, "a:");
        FillKeys(200, "b:");
        var (keys, _) = ScanAll("MATCH", "a:1*", "COUNT", "50");
        var expected = Enumerable.Range(0, 200).Select(i => "a:" + S(i)).Where(k => k.StartsWith("a:1", StringComparison.Ordinal));
        Assert.That(keys.Distinct(), Is.EquivalentTo(expected));
    }

    [Test]
    public void Scan_Type_FiltersByType()
    {
        FillKeys(100);
        var (strings, _) = ScanAll("TYPE", "string");
        Assert.That(strings.Distinct().Count(), Is.EqualTo(100));
        var (lists, _) = ScanAll("TYPE", "list");
        Assert.That(lists, Is.Empty);
    }

    [Test]
    public void Scan_EmptyDatabase_ReturnsCursorZeroAndNoKeys()
    {
        var reply = Call("SCAN", "0");
        Assert.That(reply.Items, Has.Length.EqualTo(2), reply.ToString());
        RespAssert.IsBulk(reply.Items![0], "0");
        RespAssert.IsArray(reply.Items[1]);
    }

    [Test]
    public void Scan_Errors()
    {
        RespAssert.IsError(Call("SCAN", "abc"), "ERR invalid cursor");
        RespAssert.IsError(Call("SCAN", "18446744073709551616"), "ERR invalid cursor");
        RespAssert.IsError(Call("SCAN", "0", "COUNT", "0"), Syntax);
        RespAssert.IsError(Call("SCAN", "0", "COUNT", "abc"), NotInteger);
        RespAssert.IsError(Call("SCAN", "0", "MATCH"), Syntax);
        RespAssert.IsError(Call("SCAN", "0", "FOO", "bar"), Syntax);
    }

    // ---- RANDOMKEY DBSIZE FLUSHDB FLUSHALL SWAPDB ----

    [Test]
    public void RandomKey_ReturnsAnExistingKeyOrNil()
    {
        RespAssert.IsNil(Call("RANDOMKEY"));
        RespAssert.IsOk(Call("MSET", "a", "1", "b", "2", "c", "3"));
        var seen = new HashSet<string>();
        for (int i = 0; i < 100; i++)
        {
            var r = Call("RANDOMKEY");
            Assert.That(r.Type, Is.EqualTo(RespType.BulkString), r.ToString());
            seen.Add(r.Text!);
        }
        Assert.That(seen, Is.SubsetOf(new[] { "a", "b", "c" }));
        Assert.That(seen, Has.Count.GreaterThan(1), "100 RANDOMKEY calls over 3 keys always returned the same key");
    }

    [Test]
    public void DbSize_CountsKeysOfSelectedDatabase()
    {
        RespAssert.IsInteger(Call("DBSIZE"), 0);
        FillKeys(1234);
        RespAssert.IsInteger(Call("DBSIZE"), 1234);
        RespAssert.IsOk(Call("SELECT", "1"));
        RespAssert.IsInteger(Call("DBSIZE"), 0);
    }

    [Test]
    public void FlushDb_EmptiesOnlyTheSelectedDatabase()
    {
        RespAssert.IsOk(Call("SET", "a", "1"));
        RespAssert.IsOk(Call("SELECT", "1"));
        RespAssert.IsOk(Call("SET", "b", "1"));
        RespAssert.IsOk(Call("FLUSHDB"));
        RespAssert.IsInteger(Call("DBSIZE"), 0);
        RespAssert.IsOk(Call("SELECT", "0"));
        RespAssert.IsInteger(Call("DBSIZE"), 1);
        RespAssert.IsOk(Call("FLUSHDB", "ASYNC"));
        RespAssert.IsInteger(Call("DBSIZE"), 0);
        RespAssert.IsError(Call("FLUSHDB", "FOO"), Syntax);
    }

    [Test]
    public void FlushAll_EmptiesEveryDatabase()
    {
        RespAssert.IsOk(Call("SET", "a", "1"));
        RespAssert.IsOk(Call("SELECT", "5"));
        RespAssert.IsOk(Call("SET", "b", "1"));
        RespAssert.IsOk(Call("FLUSHALL"));
        RespAssert.IsInteger(Call("DBSIZE"), 0);
        RespAssert.IsOk(Call("SELECT", "0"));
        RespAssert.IsInteger(Call("DBSIZE"), 0);
        RespAssert.IsOk(Call("FLUSHALL", "SYNC"));
        RespAssert.IsError(Call("FLUSHALL", "FOO"), Syntax);
    }

    [Test]
    public void SwapDb_ExchangesContentsForEveryClient()
    {
        RespAssert.IsOk(Call("SET", "in0", "zero"));
        RespAssert.IsOk(Call("SELECT", "1"));
        RespAssert.IsOk(Call("MSET", "in1", "one", "other", "x"));
        using var other = NewClient();
        RespAssert.IsOk(other.Call("SELECT", "1"));
        RespAssert.IsOk(Call("SWAPDB", "0", "1"));
        // This client is still on DB 1, which now holds what DB 0 had; the other client sees it too.
        RespAssert.IsSet(Call("KEYS", "*"), "in0");
        RespAssert.IsSet(other.Call("KEYS", "*"), "in0");
        RespAssert.IsOk(Call("SELECT", "0"));
        RespAssert.IsSet(Call("KEYS", "*"), "in1", "other");
        RespAssert.IsOk(Call("SWAPDB", "0", "0"));
        RespAssert.IsInteger(Call("DBSIZE"), 2);
    }

    [Test]
    public void SwapDb_Errors()
    {
        RespAssert.IsError(Call("SWAPDB", "abc", "0"), "ERR invalid first DB index");
        RespAssert.IsError(Call("SWAPDB", "0", "abc"), "ERR invalid second DB index");
        RespAssert.IsError(Call("SWAPDB", "0", "16"), DbOutOfRange);
        RespAssert.IsError(Call("SWAPDB", "-1", "0"), DbOutOfRange);
        RespAssert.IsError(Call("SWAPDB", "0"), "ERR wrong number of arguments for 'swapdb' command");
    }

    // ---- expiry really happens ----

    [Test]
    public void Expiry_KeyDisappearsAfterItsTtl()
    {
        RespAssert.IsOk(Call("SET", "short", "v", "PX", "100"));
        RespAssert.IsOk(Call("SET", "long", "v", "PX", "60000"));
        RespAssert.IsBulk(Call("GET", "short"), "v");
        Thread.Sleep(250);
        RespAssert.IsNil(Call("GET", "short"));
        RespAssert.IsInteger(Call("EXISTS", "short"), 0);
        RespAssert.IsInteger(Call("TTL", "short"), -2);
        RespAssert.IsBulk(Call("GET", "long"), "v");
    }

    [Test]
    public void Expiry_ExpiredKeyIsInvisibleToEveryRead()
    {
        RespAssert.IsOk(Call("MSET", "a", "1", "b", "2"));
        RespAssert.IsInteger(Call("PEXPIRE", "a", "100"), 1);
        Thread.Sleep(250);
        RespAssert.IsArray(Call("MGET", "a", "b"), null, "2");
        RespAssert.IsInteger(Call("STRLEN", "a"), 0);
        RespAssert.IsSimple(Call("TYPE", "a"), "none");
        RespAssert.IsSet(Call("KEYS", "*"), "b");
        RespAssert.IsInteger(Call("INCR", "a"), 1);
        RespAssert.IsInteger(Call("TTL", "a"), -1);
    }

    [Test]
    public void Expiry_SetNxSucceedsOnExpiredKey()
    {
        RespAssert.IsOk(Call("SET", "k", "old", "PX", "100"));
        Thread.Sleep(250);
        RespAssert.IsOk(Call("SET", "k", "new", "NX"));
        RespAssert.IsBulk(Call("GET", "k"), "new");
    }

    [Test]
    public void ActiveExpiry_RemovesKeysNobodyReads()
    {
        FillKeys(1000, "volatile:");
        for (int i = 0; i < 1000; i += 250)
        {
            // PEXPIRE 100 on every key, pipelined in batches.
            var batch = Enumerable.Range(i, 250).SelectMany(j => RawClient.Encode("PEXPIRE", "volatile:" + S(j), "100")).ToArray();
            Client.Send(batch);
            for (int j = 0; j < 250; j++)
            {
                RespAssert.IsInteger(Client.Read(), 1);
            }
        }
        RespAssert.IsOk(Call("SET", "persistent", "v"));
        // DBSIZE reads no key, so only a background cycle can bring it down.
        bool drained = Eventually(() => Call("DBSIZE").Integer == 1, TimeSpan.FromSeconds(2), pollMs: 100);
        Assert.That(drained, Is.True, $"DBSIZE still {Call("DBSIZE")} ~2 s after 1000 keys expired");
        RespAssert.IsBulk(Call("GET", "persistent"), "v");
    }

}
