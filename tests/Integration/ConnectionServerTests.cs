// Connection and server commands (Redis's tests/unit/info.tcl, introspection.tcl and friends): PING ECHO
// QUIT SELECT TIME COMMAND CONFIG GET INFO SHUTDOWN, plus the generic errors every command shares
// (unknown command, wrong arity), with Redis 7.0's exact texts and INFO field names.
using System.Globalization;
using System.Text.RegularExpressions;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed partial class ConnectionServerTests : ServerFixture
{
    // ---- PING ECHO QUIT ----

    [Test]
    public void Ping_WithoutArgument_RepliesPong() => RespAssert.IsSimple(Call("PING"), "PONG");

    [Test]
    public void Ping_WithArgument_EchoesItAsBulk()
    {
        RespAssert.IsBulk(Call("PING", "hello world"), "hello world");
        RespAssert.IsBulk(Call("ping", ""), "");
        RespAssert.IsError(Call("PING", "a", "b"), "ERR wrong number of arguments for 'ping' command");
    }

    [Test]
    public void Echo_ReturnsTheArgument()
    {
        RespAssert.IsBulk(Call("ECHO", "hello"), "hello");
        byte[] binary = [0, 13, 10, 255];
        RespAssert.IsBulk(Client.Call("ECHO"u8.ToArray(), binary), binary);
        RespAssert.IsError(Call("ECHO"), "ERR wrong number of arguments for 'echo' command");
        RespAssert.IsError(Call("ECHO", "a", "b"), "ERR wrong number of arguments for 'echo' command");
    }

    [Test]
    public void Quit_RepliesOkThenClosesTheConnection()
    {
        RespAssert.IsOk(Call("QUIT"));
        Assert.That(Client.WaitForClose(TimeSpan.FromSeconds(5)), Is.True, "connection still open after QUIT");
    }

    [Test]
    public void Quit_RepliesToEarlierPipelinedCommandsFirst()
    {
        Client.Send([.. RawClient.Encode("SET", "k", "v"), .. RawClient.Encode("GET", "k"), .. RawClient.Encode("QUIT"), .. RawClient.Encode("PING")]);
        RespAssert.IsOk(Client.Read());
        RespAssert.IsBulk(Client.Read(), "v");
        RespAssert.IsOk(Client.Read());
        Assert.That(Client.WaitForClose(TimeSpan.FromSeconds(5)), Is.True, "connection still open after QUIT");
    }

    // ---- SELECT ----

    [Test]
    public void Select_SwitchesDatabasePerConnection()
    {
        RespAssert.IsOk(Call("SET", "k", "db0"));
        RespAssert.IsOk(Call("SELECT", "15"));
        RespAssert.IsNil(Call("GET", "k"));
        RespAssert.IsOk(Call("SET", "k", "db15"));
        using var other = NewClient();
        RespAssert.IsBulk(other.Call("GET", "k"), "db0");
        RespAssert.IsBulk(Call("GET", "k"), "db15");
    }

    [Test]
    public void Select_Errors()
    {
        RespAssert.IsError(Call("SELECT", "16"), "ERR DB index is out of range");
        RespAssert.IsError(Call("SELECT", "-1"), "ERR DB index is out of range");
        RespAssert.IsError(Call("SELECT", "abc"), "ERR value is not an integer or out of range");
        RespAssert.IsError(Call("SELECT"), "ERR wrong number of arguments for 'select' command");
    }

    // ---- TIME ----

    [Test]
    public void Time_ReturnsSecondsAndMicrosecondsAsBulks()
    {
        var reply = Call("TIME");
        Assert.That(reply.Type, Is.EqualTo(RespType.Array), reply.ToString());
        Assert.That(reply.Items, Has.Length.EqualTo(2), reply.ToString());
        Assert.That(reply.Items!.All(i => i.Type == RespType.BulkString), Is.True, reply.ToString());
        long seconds = long.Parse(reply.Items![0].Text!, CultureInfo.InvariantCulture);
        long micros = long.Parse(reply.Items[1].Text!, CultureInfo.InvariantCulture);
        Assert.That(seconds, Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(5));
        Assert.That(micros, Is.InRange(0, 999_999));
    }

    // ---- generic errors ----

    [Test]
    public void UnknownCommand_ExactErrorText()
    {
        RespAssert.IsError(Call("foo", "a", "b"), "ERR unknown command 'foo', with args beginning with: 'a' 'b' ");
        RespAssert.IsError(Call("FOO"), "ERR unknown command 'FOO', with args beginning with: ");
        // The connection stays usable.
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    [Test]
    public void WrongArity_NamesTheCommandInLowerCase()
    {
        RespAssert.IsError(Call("GET"), "ERR wrong number of arguments for 'get' command");
        RespAssert.IsError(Call("get", "a", "b"), "ERR wrong number of arguments for 'get' command");
        RespAssert.IsError(Call("SeT", "a"), "ERR wrong number of arguments for 'set' command");
        RespAssert.IsError(Call("EXPIRE", "a"), "ERR wrong number of arguments for 'expire' command");
    }

    [Test]
    public void CommandNames_AreCaseInsensitive()
    {
        RespAssert.IsOk(Call("sEt", "k", "v"));
        RespAssert.IsBulk(Call("get", "k"), "v");
        RespAssert.IsSimple(Call("pInG"), "PONG");
    }

    // ---- COMMAND ----

    [Test]
    public void Command_Count_MatchesTheFullList()
    {
        long count = RespAssert.IsAnyInteger(Call("COMMAND", "COUNT"));
        Assert.That(count, Is.GreaterThan(30));
        var all = Call("COMMAND");
        Assert.That(all.Type, Is.EqualTo(RespType.Array), "COMMAND without arguments lists every command: " + all);
        Assert.That(all.Items, Has.Length.EqualTo(count), "COMMAND lists as many commands as COMMAND COUNT says");
        var names = all.Items!.Select(c => c.Items![0].Text).ToList();
        Assert.That(names, Does.Contain("get").And.Contain("set").And.Contain("ping").And.Contain("scan"));
    }

    [TestCase("get", 2, 1, 1, 1, "readonly")]
    [TestCase("set", -3, 1, 1, 1, "write")]
    [TestCase("mset", -3, 1, -1, 2, "write")]
    [TestCase("del", -2, 1, -1, 1, "write")]
    [TestCase("ping", -1, 0, 0, 0, "fast")]
    public void Command_Info_DescribesArityFlagsAndKeys(string name, int arity, int first, int last, int step, string flag)
    {
        var reply = Call("COMMAND", "INFO", name.ToUpperInvariant());
        Assert.That(reply.Items, Has.Length.EqualTo(1), reply.ToString());
        var info = reply.Items![0];
        Assert.That(info.Items, Has.Length.GreaterThanOrEqualTo(6), info.ToString());
        RespAssert.IsBulk(info.Items![0], name);
        RespAssert.IsInteger(info.Items[1], arity);
        Assert.That(info.Items[2].Items!.Select(f => f.Text), Does.Contain(flag), info.ToString());
        RespAssert.IsInteger(info.Items[3], first);
        RespAssert.IsInteger(info.Items[4], last);
        RespAssert.IsInteger(info.Items[5], step);
    }

    [Test]
    public void Command_Info_UnknownCommandGivesNil()
    {
        var reply = Call("COMMAND", "INFO", "nosuchcommand", "get");
        Assert.That(reply.Items, Has.Length.EqualTo(2), reply.ToString());
        Assert.That(reply.Items![0].IsNull, Is.True, reply.ToString());
        RespAssert.IsBulk(reply.Items[1].Items![0], "get");
    }

    [Test]
    public void Command_Docs_GivesSummaryAndGroup()
    {
        var reply = Call("COMMAND", "DOCS", "get");
        Assert.That(reply.Items, Has.Length.EqualTo(2), reply.ToString());
        RespAssert.IsBulk(reply.Items![0], "get");
        var doc = reply.Items[1].AsStrings();
        int summary = Array.IndexOf(doc, "summary");
        int group = Array.IndexOf(doc, "group");
        Assert.That(summary, Is.GreaterThanOrEqualTo(0).And.EqualTo(summary / 2 * 2), "summary is a key of the doc map: " + reply);
        Assert.That(doc[summary + 1], Is.Not.Empty);
        Assert.That(group, Is.GreaterThanOrEqualTo(0), reply.ToString());
        Assert.That(doc[group + 1], Is.EqualTo("string"));
    }

    // ---- CONFIG GET ----

    private Dictionary<string, string> ConfigGet(params string[] names)
    {
        var reply = Call(["CONFIG", "GET", .. names]);
        var items = reply.AsStrings();
        Assert.That(items.Length % 2, Is.EqualTo(0), "CONFIG GET returns name/value pairs: " + reply);
        var result = new Dictionary<string, string>();
        for (int i = 0; i < items.Length; i += 2)
        {
            result[items[i]!] = items[i + 1]!;
        }
        return result;
    }

    [Test]
    public void ConfigGet_SingleParameter_ReturnsNameValuePair() =>
        RespAssert.IsArray(Call("CONFIG", "GET", "port"), "port", Server.Port.ToString(CultureInfo.InvariantCulture));

    [Test]
    public void ConfigGet_ReflectsStartupArgumentsAndDefaults()
    {
        var config = ConfigGet("port", "databases", "save", "appendonly", "maxmemory", "maxmemory-policy");
        Assert.That(config, Is.EquivalentTo(new Dictionary<string, string>
        {
            ["port"] = Server.Port.ToString(CultureInfo.InvariantCulture),
            ["databases"] = "16",
            ["save"] = "",
            ["appendonly"] = "no",
            ["maxmemory"] = "0",
            ["maxmemory-policy"] = "noeviction",
        }));
    }

    [Test]
    public void ConfigGet_GlobAndUnknown()
    {
        Assert.That(ConfigGet("databas*"), Is.EquivalentTo(new Dictionary<string, string> { ["databases"] = "16" }));
        RespAssert.IsArray(Call("CONFIG", "GET", "no-such-parameter"));
        RespAssert.IsError(Call("CONFIG", "GET"), "ERR wrong number of arguments for 'config|get' command");
        RespAssert.IsError(Call("CONFIG", "FOO"), "ERR unknown subcommand 'FOO'. Try CONFIG HELP.");
    }

    // ---- INFO ----

    private Dictionary<string, string> Info(string? section = null)
    {
        var reply = section is null ? Call("INFO") : Call("INFO", section);
        Assert.That(reply.Type, Is.EqualTo(RespType.BulkString), reply.ToString());
        var fields = new Dictionary<string, string>();
        foreach (var line in reply.Text!.Split("\r\n"))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            Assert.That(colon, Is.GreaterThan(0), $"INFO line without 'name:value': '{line}'");
            fields[line[..colon]] = line[(colon + 1)..];
        }
        return fields;
    }

    private long InfoNumber(string section, string field)
    {
        var info = Info(section);
        Assert.That(info, Does.ContainKey(field), $"INFO {section} lacks {field}");
        return long.Parse(info[field], CultureInfo.InvariantCulture);
    }

    [Test]
    public void Info_Default_HasTheMainSectionsWithCrlfLines()
    {
        var reply = Call("INFO");
        string text = reply.Text!;
        foreach (var header in new[] { "# Server", "# Clients", "# Memory", "# Stats", "# Keyspace" })
        {
            Assert.That(text, Does.Contain(header + "\r\n"), $"INFO lacks the {header} section");
        }
        Assert.That(text.Replace("\r\n", "", StringComparison.Ordinal), Does.Not.Contain("\n"), "INFO lines end with CRLF");
    }

    [Test]
    public void Info_Section_ReturnsOnlyThatSection()
    {
        string text = Call("INFO", "server").Text!;
        Assert.That(text, Does.StartWith("# Server\r\n"));
        Assert.That(text, Does.Not.Contain("# Clients"));
        Assert.That(Call("INFO", "KEYSPACE").Text, Does.StartWith("# Keyspace\r\n"));
    }

    [Test]
    public void Info_Server_HasVersionAndPort()
    {
        var info = Info("server");
        Assert.That(info, Does.ContainKey("redis_version"));
        Assert.That(info["redis_version"], Does.Match(@"^\d+\.\d+\.\d+$"));
        Assert.That(info["tcp_port"], Is.EqualTo(Server.Port.ToString(CultureInfo.InvariantCulture)));
        Assert.That(info["process_id"], Is.EqualTo(Server.Pid.ToString(CultureInfo.InvariantCulture)));
        Assert.That(long.Parse(info["uptime_in_seconds"], CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public void Info_Clients_CountsConnections()
    {
        long before = InfoNumber("clients", "connected_clients");
        Assert.That(before, Is.GreaterThanOrEqualTo(1));
        using (var other = NewClient())
        {
            RespAssert.IsSimple(other.Call("PING"), "PONG");
            Assert.That(InfoNumber("clients", "connected_clients"), Is.EqualTo(before + 1));
        }
        Assert.That(Eventually(() => InfoNumber("clients", "connected_clients") == before, TimeSpan.FromSeconds(3)), Is.True,
            "connected_clients did not go back down after a client disconnected");
    }

    [Test]
    public void Info_Memory_UsedMemoryGrowsWithData()
    {
        long before = InfoNumber("memory", "used_memory");
        Assert.That(before, Is.GreaterThan(0));
        const int Size = 4 * 1024 * 1024;
        RespAssert.IsOk(Call("SET", "big", new string('x', Size)));
        long after = InfoNumber("memory", "used_memory");
        Assert.That(after - before, Is.GreaterThanOrEqualTo(Size), $"used_memory went from {before} to {after} after storing {Size} bytes");
        RespAssert.IsInteger(Call("DEL", "big"), 1);
        Assert.That(InfoNumber("memory", "used_memory"), Is.LessThan(after - Size / 2), "used_memory did not drop after DEL");
    }

    [Test]
    public void Info_Stats_CountsCommandsHitsAndMisses()
    {
        var before = Info("stats");
        for (int i = 0; i < 10; i++)
        {
            RespAssert.IsSimple(Call("PING"), "PONG");
        }
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsBulk(Call("GET", "k"), "v");
        RespAssert.IsBulk(Call("GET", "k"), "v");
        RespAssert.IsNil(Call("GET", "nokey"));
        var after = Info("stats");
        long N(Dictionary<string, string> d, string f) => long.Parse(d[f], CultureInfo.InvariantCulture);
        Assert.That(N(after, "total_commands_processed") - N(before, "total_commands_processed"), Is.GreaterThanOrEqualTo(14));
        Assert.That(N(after, "keyspace_hits") - N(before, "keyspace_hits"), Is.EqualTo(2));
        Assert.That(N(after, "keyspace_misses") - N(before, "keyspace_misses"), Is.EqualTo(1));
        Assert.That(after, Does.ContainKey("total_connections_received").And.ContainKey("expired_keys"));
    }

    [GeneratedRegex(@"^db(\d+):keys=(\d+),expires=(\d+),avg_ttl=(\d+)$")]
    private static partial Regex KeyspaceLine();

    [Test]
    public void Info_Keyspace_ListsNonEmptyDatabases()
    {
        Assert.That(Call("INFO", "keyspace").Text, Is.EqualTo("# Keyspace\r\n"), "no db lines while every database is empty");
        RespAssert.IsOk(Call("MSET", "a", "1", "b", "2", "c", "3"));
        RespAssert.IsInteger(Call("EXPIRE", "a", "100"), 1);
        RespAssert.IsOk(Call("SELECT", "7"));
        RespAssert.IsOk(Call("SET", "x", "1"));
        var lines = Call("INFO", "keyspace").Text!.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Is.EqualTo("# Keyspace"));
        Assert.That(lines, Has.Length.EqualTo(3), string.Join(" | ", lines));
        var db0 = KeyspaceLine().Match(lines[1]);
        Assert.That(db0.Success, Is.True, lines[1]);
        Assert.That((db0.Groups[1].Value, db0.Groups[2].Value, db0.Groups[3].Value), Is.EqualTo(("0", "3", "1")));
        var db7 = KeyspaceLine().Match(lines[2]);
        Assert.That(db7.Success, Is.True, lines[2]);
        Assert.That((db7.Groups[1].Value, db7.Groups[2].Value, db7.Groups[3].Value, db7.Groups[4].Value), Is.EqualTo(("7", "1", "0", "0")));
    }

    [Test]
    public void Info_UnknownSection_IsEmpty() => RespAssert.IsBulk(Call("INFO", "nosuchsection"), "");

    // ---- SHUTDOWN ----

    [Test]
    public void Shutdown_NoSave_ExitsWithCodeZero()
    {
        using var server = ServerProcess.Start();
        using var client = server.Connect();
        RespAssert.IsOk(client.Call("SET", "k", "v"));
        client.Send(RawClient.Encode("SHUTDOWN", "NOSAVE"));
        Assert.That(client.WaitForClose(TimeSpan.FromSeconds(10)), Is.True, "connection still open after SHUTDOWN NOSAVE");
        Assert.That(server.WaitForExit(TimeSpan.FromSeconds(10)), Is.EqualTo(0), server.Describe());
    }
}
