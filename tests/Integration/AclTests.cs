// ACL users and permissions (Redis's acl.c) through raw sockets: ACL SETUSER rules and their errors,
// ACL GETUSER's reply shape and ACL LIST's lines as Redis 7.0 prints them, NOPERM for commands, keys
// (~, %R~, %W~) and subcommands, DRYRUN, CAT, WHOAMI, USERS, DELUSER (closes the user's clients),
// GENPASS, LOG, and scripts running as their caller's user. Differential: the same expectations hold
// against redis-server 7.0 (NATIVEKV_TEST_TARGET=redis), with rule sets chosen so that the command
// rules Redis rebuilds from its bitmaps do not depend on its command dictionary's order.
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class AclTests : ServerFixture
{
    private const string P1Hash = "f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a"; // sha256("p1")

    [TearDown]
    public void DeleteUsers()
    {
        using var c = NewClient();
        foreach (var name in c.Call("ACL", "USERS").AsStrings())
        {
            if (name != "default")
            {
                c.Call("ACL", "DELUSER", name!);
            }
        }
        c.Call("ACL", "LOG", "RESET");
    }

    private RawClient LoginAs(string user, string password)
    {
        var c = NewClient();
        RespAssert.IsOk(c.Call("AUTH", user, password));
        return c;
    }

    [Test]
    public void GetUser_ReplyShape()
    {
        // One single-command rule: Redis lists several in its command dictionary's order, which varies.
        RespAssert.IsOk(Call("ACL", "SETUSER", "alice", "on", ">p1", "~k*", "+get"));
        var r = Call("ACL", "GETUSER", "alice");
        Assert.That(r.Items, Has.Length.EqualTo(12), r.ToString());
        Assert.That(r.Items![0].Text, Is.EqualTo("flags"));
        Assert.That(r.Items[1].AsStrings(), Is.EqualTo(new[] { "on" }));
        Assert.That(r.Items[2].Text, Is.EqualTo("passwords"));
        Assert.That(r.Items[3].AsStrings(), Is.EqualTo(new[] { P1Hash }));
        Assert.That(r.Items[4].Text, Is.EqualTo("commands"));
        RespAssert.IsBulk(r.Items[5], "-@all +get");
        Assert.That(r.Items[6].Text, Is.EqualTo("keys"));
        RespAssert.IsBulk(r.Items[7], "~k*");
        Assert.That(r.Items[8].Text, Is.EqualTo("channels"));
        RespAssert.IsBulk(r.Items[9], "");
        Assert.That(r.Items[10].Text, Is.EqualTo("selectors"));
        Assert.That(r.Items[11].Items, Is.Empty);
    }

    [Test]
    public void GetUser_DefaultUser_AndUnknownUser()
    {
        var r = Call("ACL", "GETUSER", "default");
        Assert.That(r.Items![1].AsStrings(), Is.EqualTo(new[] { "on", "nopass" }));
        Assert.That(r.Items[3].Items, Is.Empty);
        RespAssert.IsBulk(r.Items[5], "+@all");
        RespAssert.IsBulk(r.Items[7], "~*");
        RespAssert.IsBulk(r.Items[9], "&*");
        RespAssert.IsNil(Call("ACL", "GETUSER", "nosuch"));
    }

    [Test]
    public void GetUser_KeyAndChannelPatterns()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "bob", "nopass", "%R~r*", "%W~w*", "~both", "%RW~rw", "&ch*", "&ch*", "~both", "+@hash", "+config|get"));
        var r = Call("ACL", "GETUSER", "bob");
        Assert.That(r.Items![1].AsStrings(), Is.EqualTo(new[] { "off", "nopass" }));
        RespAssert.IsBulk(r.Items[5], "-@all +@hash +config|get");
        RespAssert.IsBulk(r.Items[7], "%R~r* %W~w* ~both ~rw");
        RespAssert.IsBulk(r.Items[9], "&ch*");
    }

    [Test]
    public void List_LinesAsRedisPrintsThem()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "alice", "on", ">p1", ">p1", "~k*", "+get"));
        RespAssert.IsOk(Call("ACL", "SETUSER", "carol", "allkeys", "allchannels", "allcommands", "-flushall"));
        RespAssert.IsOk(Call("ACL", "SETUSER", "zed", "reset"));
        RespAssert.IsOk(Call("ACL", "SETUSER", "bob", "on", "nopass", "%R~r*", "&ch*", "+@hash"));
        Assert.That(Call("ACL", "LIST").AsStrings(), Is.EqualTo(new[]
        {
            $"user alice on #{P1Hash} ~k* resetchannels -@all +get",
            "user bob on nopass %R~r* resetchannels &ch* -@all +@hash",
            "user carol off ~* &* +@all -flushall",
            "user default on nopass ~* &* +@all",
            "user zed off sanitize-payload resetchannels -@all",
        }));
        Assert.That(Call("ACL", "USERS").AsStrings(), Is.EqualTo(new[] { "alice", "bob", "carol", "default", "zed" }));
    }

    [TestCase("foo", "Syntax error")]
    [TestCase("+nosuch", "Unknown command or category name in ACL")]
    [TestCase("+@nosuch", "Unknown command or category name in ACL")]
    [TestCase("+config|nosuch", "Unknown command or category name in ACL")]
    [TestCase("#abc", "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")]
    [TestCase("!abc", "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")]
    [TestCase("<nope", "The password you are trying to remove from the user does not exist")]
    [TestCase("%X~a", "Syntax error")]
    [TestCase("%~a", "Syntax error")]
    [TestCase("~a b", "Syntax error")]
    [TestCase("+get|", "Syntax error")]
    [TestCase("+config|", "Syntax error")]
    [TestCase("+config|get|x", "Allowing first-arg of a subcommand is not supported")]
    public void SetUser_BadModifier_ExactError(string modifier, string reason)
    {
        RespAssert.IsError(Call("ACL", "SETUSER", "x", modifier), $"ERR Error in ACL SETUSER modifier '{modifier}': {reason}");
        RespAssert.IsNil(Call("ACL", "GETUSER", "x"));
    }

    [Test]
    public void Subcommands_TooManyArguments()
    {
        RespAssert.IsError(Call("ACL", "CAT", "a", "b"), "ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP.");
        RespAssert.IsError(Call("ACL", "genpass", "1", "2"), "ERR unknown subcommand or wrong number of arguments for 'genpass'. Try ACL HELP.");
        RespAssert.IsError(Call("ACL", "LOG", "1", "2"), "ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL HELP.");
        RespAssert.IsError(Call("ACL", "WHOAMI", "x"), "ERR wrong number of arguments for 'acl|whoami' command");
        RespAssert.IsError(Call("ACL"), "ERR wrong number of arguments for 'acl' command");
        RespAssert.IsError(Call("ACL", "SETUSER"), "ERR wrong number of arguments for 'acl|setuser' command");
    }

    [Test]
    public void SetUser_PercentWithoutTilde_IsAnEmptyPattern()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "fz", "%R", "%RW", "%W~"));
        Assert.That(Call("ACL", "LIST").AsStrings(), Has.Member("user fz off ~ resetchannels -@all"));
    }

    [Test]
    public void SetUser_PatternsAfterAllKeysOrAllChannels_Refused()
    {
        RespAssert.IsError(Call("ACL", "SETUSER", "x", "~*", "~a"),
            "ERR Error in ACL SETUSER modifier '~a': Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns");
        RespAssert.IsError(Call("ACL", "SETUSER", "x", "&*", "&a"),
            "ERR Error in ACL SETUSER modifier '&a': Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels");
        RespAssert.IsError(Call("ACL", "SETUSER", "a b"), "ERR Usernames can't contain spaces or null characters");
    }

    [Test]
    public void SetUser_IsAtomic()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "u", "on", ">p1", "+get", "~*"));
        RespAssert.IsErrorStartingWith(Call("ACL", "SETUSER", "u", "+set", "off", "bogus"), "ERR Error in ACL SETUSER modifier 'bogus'");
        Assert.That(Call("ACL", "LIST").AsStrings(), Has.Member($"user u on #{P1Hash} ~* resetchannels -@all +get"));
    }

    [Test]
    public void Passwords_AddRemoveResetNopass()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "u", "on", ">a", ">b", "+@all", "~*"));
        using (var c = LoginAs("u", "b"))
        {
            RespAssert.IsBulk(c.Call("ACL", "WHOAMI"), "u");
        }
        RespAssert.IsOk(Call("ACL", "SETUSER", "u", "<b"));
        using (var c = NewClient())
        {
            RespAssert.IsError(c.Call("AUTH", "u", "b"), "WRONGPASS invalid username-password pair or user is disabled.");
            RespAssert.IsOk(c.Call("AUTH", "u", "a"));
        }
        RespAssert.IsOk(Call("ACL", "SETUSER", "u", "resetpass"));
        using (var c = NewClient())
        {
            RespAssert.IsError(c.Call("AUTH", "u", "a"), "WRONGPASS invalid username-password pair or user is disabled.");
        }
        RespAssert.IsOk(Call("ACL", "SETUSER", "u", "nopass"));
        using (var c = LoginAs("u", "anything"))
        {
            RespAssert.IsBulk(c.Call("ACL", "WHOAMI"), "u");
        }
        RespAssert.IsOk(Call("ACL", "SETUSER", "u", "off"));
        using (var c = NewClient())
        {
            RespAssert.IsError(c.Call("AUTH", "u", "anything"), "WRONGPASS invalid username-password pair or user is disabled.");
        }
        RespAssert.IsOk(Call("ACL", "SETUSER", "u", "on", "resetpass", "#" + P1Hash));
        using (var c = LoginAs("u", "p1"))
        {
            RespAssert.IsBulk(c.Call("ACL", "WHOAMI"), "u");
        }
    }

    [Test]
    public void NoPerm_CommandsAndKeys()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "alice", "on", ">p1", "~k*", "+get", "+set"));
        using var c = LoginAs("alice", "p1");
        RespAssert.IsOk(c.Call("SET", "k1", "v"));
        RespAssert.IsBulk(c.Call("GET", "k1"), "v");
        RespAssert.IsError(c.Call("GET", "other"), "NOPERM this user has no permissions to access one of the keys used as arguments");
        RespAssert.IsError(c.Call("INCR", "k1"), "NOPERM this user has no permissions to run the 'incr' command");
        RespAssert.IsError(c.Call("PING"), "NOPERM this user has no permissions to run the 'ping' command");
        // Unknown commands and arity are still checked first.
        RespAssert.IsError(c.Call("GET"), "ERR wrong number of arguments for 'get' command");
        RespAssert.IsErrorStartingWith(c.Call("NOSUCH"), "ERR unknown command 'NOSUCH'");
        // AUTH is always allowed: log in as default again.
        RespAssert.IsOk(c.Call("AUTH", "default", "x"));
        RespAssert.IsSimple(c.Call("PING"), "PONG");
    }

    [Test]
    public void NoPerm_ReadAndWriteKeyPatterns()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "carol", "on", ">p1", "%R~r*", "%W~w*", "+get", "+set", "+mget"));
        using var c = LoginAs("carol", "p1");
        RespAssert.IsNil(c.Call("GET", "r1"));
        RespAssert.IsOk(c.Call("SET", "w1", "x"));
        RespAssert.IsError(c.Call("GET", "w1"), "NOPERM this user has no permissions to access one of the keys used as arguments");
        RespAssert.IsError(c.Call("SET", "r1", "x"), "NOPERM this user has no permissions to access one of the keys used as arguments");
        RespAssert.IsError(c.Call("MGET", "r1", "r2", "w1"), "NOPERM this user has no permissions to access one of the keys used as arguments");
    }

    [Test]
    public void NoPerm_Subcommands()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "ops", "on", ">p1", "+config|get", "+acl|whoami"));
        using var c = LoginAs("ops", "p1");
        Assert.That(c.Call("CONFIG", "GET", "maxclients").Items, Has.Length.EqualTo(2));
        RespAssert.IsError(c.Call("CONFIG", "SET", "maxclients", "10"), "NOPERM this user has no permissions to run the 'config|set' command");
        RespAssert.IsBulk(c.Call("ACL", "WHOAMI"), "ops");
        RespAssert.IsError(c.Call("ACL", "LIST"), "NOPERM this user has no permissions to run the 'acl|list' command");
    }

    [Test]
    public void Changes_ApplyToClientsAlreadyLoggedIn()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "u", "on", ">p1", "~*", "+get"));
        using var c = LoginAs("u", "p1");
        RespAssert.IsError(c.Call("SET", "a", "1"), "NOPERM this user has no permissions to run the 'set' command");
        RespAssert.IsOk(Call("ACL", "SETUSER", "u", "+@all"));
        RespAssert.IsOk(c.Call("SET", "a", "1"));
        RespAssert.IsOk(Call("ACL", "SETUSER", "u", "-set"));
        RespAssert.IsError(c.Call("SET", "a", "1"), "NOPERM this user has no permissions to run the 'set' command");
    }

    [Test]
    public void DelUser_ClosesItsConnections()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "gone", "on", ">p1", "+@all", "~*"));
        using var c = LoginAs("gone", "p1");
        RespAssert.IsInteger(Call("ACL", "DELUSER", "gone", "nosuch"), 1);
        Assert.That(c.WaitForClose(TimeSpan.FromSeconds(5)), Is.True, "the deleted user's client is disconnected");
        RespAssert.IsError(Call("ACL", "DELUSER", "default"), "ERR The 'default' user cannot be removed");
        // A user deleting itself gets the reply, then is disconnected.
        RespAssert.IsOk(Call("ACL", "SETUSER", "self", "on", ">p1", "+@all", "~*"));
        using var s = LoginAs("self", "p1");
        RespAssert.IsInteger(s.Call("ACL", "DELUSER", "self"), 1);
        Assert.That(s.WaitForClose(TimeSpan.FromSeconds(5)), Is.True);
        RespAssert.IsInteger(Call("ACL", "DELUSER", "nosuch"), 0);
    }

    [Test]
    public void DryRun_Results()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "bob", "nopass", "%R~r*", "%W~w*", "+get", "+config|get"));
        RespAssert.IsOk(Call("ACL", "DRYRUN", "bob", "get", "r1"));
        RespAssert.IsBulk(Call("ACL", "DRYRUN", "bob", "get", "w1"), "This user has no permissions to access the 'w1' key");
        RespAssert.IsBulk(Call("ACL", "DRYRUN", "bob", "set", "w1", "x"), "This user has no permissions to run the 'set' command");
        RespAssert.IsOk(Call("ACL", "DRYRUN", "bob", "config", "get", "port"));
        RespAssert.IsBulk(Call("ACL", "DRYRUN", "bob", "config", "set", "port", "1"), "This user has no permissions to run the 'config|set' command");
        RespAssert.IsError(Call("ACL", "DRYRUN", "nosuch", "get", "a"), "ERR User 'nosuch' not found");
        RespAssert.IsError(Call("ACL", "DRYRUN", "bob", "nosuchcmd"), "ERR Command 'nosuchcmd' not found");
        RespAssert.IsError(Call("ACL", "DRYRUN", "bob", "get"), "ERR wrong number of arguments for 'get' command");
    }

    [Test]
    public void Cat_ListsRedisCategories()
    {
        Assert.That(Call("ACL", "CAT").AsStrings(), Is.EqualTo(new[]
        {
            "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
            "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
        }));
        var strings = Call("ACL", "CAT", "string").AsStrings();
        Assert.That(strings, Does.Contain("get").And.Contain("incrbyfloat").And.Not.Contain("lpush"));
        var dangerous = Call("ACL", "CAT", "dangerous").AsStrings();
        Assert.That(dangerous, Does.Contain("flushall").And.Contain("keys").And.Contain("config|set").And.Contain("acl|setuser").And.Not.Contain("get"));
        RespAssert.IsError(Call("ACL", "CAT", "nosuch"), "ERR Unknown category 'nosuch'");
    }

    [Test]
    public void Categories_RulesAllowWholeCategories()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "h", "on", ">p1", "~*", "+@hash", "-hgetall"));
        using var c = LoginAs("h", "p1");
        RespAssert.IsInteger(c.Call("HSET", "h1", "f", "v"), 1);
        RespAssert.IsError(c.Call("HGETALL", "h1"), "NOPERM this user has no permissions to run the 'hgetall' command");
        RespAssert.IsError(c.Call("LPUSH", "l", "a"), "NOPERM this user has no permissions to run the 'lpush' command");
        Assert.That(Call("ACL", "LIST").AsStrings(), Has.Member($"user h on #{P1Hash} ~* resetchannels -@all +@hash -hgetall"));
    }

    [Test]
    public void GenPass_Lengths()
    {
        Assert.That(Call("ACL", "GENPASS").Text, Does.Match("^[0-9a-f]{64}$"));
        Assert.That(Call("ACL", "GENPASS", "5").Text, Does.Match("^[0-9a-f]{2}$"));
        Assert.That(Call("ACL", "GENPASS", "1").Text, Does.Match("^[0-9a-f]$"));
        Assert.That(Call("ACL", "GENPASS").Text, Is.Not.EqualTo(Call("ACL", "GENPASS").Text));
        const string Range = "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096";
        RespAssert.IsError(Call("ACL", "GENPASS", "0"), Range);
        RespAssert.IsError(Call("ACL", "GENPASS", "4097"), Range);
        RespAssert.IsError(Call("ACL", "GENPASS", "abc"), "ERR value is not an integer or out of range");
    }

    [Test]
    public void Auth_WithoutPasswordConfigured()
    {
        RespAssert.IsError(Call("AUTH", "foo"), "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        RespAssert.IsOk(Call("AUTH", "default", "anything"));
        RespAssert.IsError(Call("AUTH", "nosuch", "x"), "WRONGPASS invalid username-password pair or user is disabled.");
    }

    [Test]
    public void Log_RecordsDenials()
    {
        RespAssert.IsOk(Call("ACL", "LOG", "RESET"));
        RespAssert.IsOk(Call("ACL", "SETUSER", "alice", "on", ">p1", "~k*", "+get"));
        using (var c = LoginAs("alice", "p1"))
        {
            RespAssert.IsErrorStartingWith(c.Call("GET", "other"), "NOPERM");
            RespAssert.IsErrorStartingWith(c.Call("SET", "k", "v"), "NOPERM");
            RespAssert.IsErrorStartingWith(c.Call("AUTH", "alice", "bad"), "WRONGPASS");
        }
        var log = Call("ACL", "LOG").Items!;
        Assert.That(log, Has.Length.EqualTo(3));
        var newest = Fields(log[0]);
        Assert.That(newest["reason"], Is.EqualTo("auth"));
        Assert.That(newest["context"], Is.EqualTo("toplevel"));
        Assert.That(newest["object"], Is.EqualTo("AUTH"));
        Assert.That(newest["username"], Is.EqualTo("alice"));
        var command = Fields(log[1]);
        Assert.That((command["reason"], command["object"], command["username"]), Is.EqualTo(("command", "set", "alice")));
        var key = Fields(log[2]);
        Assert.That((key["reason"], key["object"], key["context"]), Is.EqualTo(("key", "other", "toplevel")));
        Assert.That(key["client-info"], Does.Contain("user=alice"));
        Assert.That(Call("ACL", "LOG", "1").Items, Has.Length.EqualTo(1));
        RespAssert.IsOk(Call("ACL", "LOG", "RESET"));
        Assert.That(Call("ACL", "LOG").Items, Is.Empty);
    }

    private static Dictionary<string, string> Fields(RespValue entry)
    {
        var d = new Dictionary<string, string>();
        for (int i = 0; i + 1 < entry.Items!.Length; i += 2)
        {
            var v = entry.Items[i + 1];
            d[entry.Items[i].Text!] = v.Type == RespType.Integer ? v.Integer.ToString(System.Globalization.CultureInfo.InvariantCulture) : v.Text ?? "";
        }
        return d;
    }

    [Test]
    public void Scripts_RunAsTheCallersUser()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "carol", "on", ">p1", "~a", "+eval", "+get", "+set"));
        using var c = LoginAs("carol", "p1");
        RespAssert.IsOk(c.Call("EVAL", "return redis.call('set', 'a', 'b')", "0"));
        RespAssert.IsErrorStartingWith(c.Call("EVAL", "return redis.call('incr', 'a')", "0"),
            "ERR The user executing the script can't run this command or subcommand script: ");
        RespAssert.IsError(c.Call("EVAL", "return redis.pcall('incr', 'a')", "0"),
            "ERR The user executing the script can't run this command or subcommand");
        RespAssert.IsErrorStartingWith(c.Call("EVAL", "return redis.call('set', 'b', 'b')", "0"),
            "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments script: ");
        // EVAL's own declared keys are checked before the script runs.
        RespAssert.IsError(c.Call("EVAL", "return 1", "1", "b"), "NOPERM this user has no permissions to access one of the keys used as arguments");
        RespAssert.IsBulk(Call("GET", "a"), "b");
        RespAssert.IsNil(Call("GET", "b"));
    }

    [Test]
    public void Scripts_AclCheckCmd_ChecksTheCallersUser()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "carol", "on", ">p1", "~a", "+eval", "+set"));
        using var c = LoginAs("carol", "p1");
        RespAssert.IsInteger(c.Call("EVAL", "return redis.acl_check_cmd('set', 'a', 'b')", "0"), 1);
        RespAssert.IsNil(c.Call("EVAL", "return redis.acl_check_cmd('set', 'b', 'b')", "0"));
        RespAssert.IsNil(c.Call("EVAL", "return redis.acl_check_cmd('incr', 'a')", "0"));
        RespAssert.IsErrorStartingWith(c.Call("EVAL", "return redis.acl_check_cmd('nosuch')", "0"), "ERR Invalid command passed to redis.acl_check_cmd()");
        RespAssert.IsInteger(Call("EVAL", "return redis.acl_check_cmd('incr', 'zzz')", "0"), 1);
    }

    // Keys r* may only be read, w* only written, b* both; each case names the key refused, or null.
    [TestCase(null, "get", "r1")]
    [TestCase("w1", "get", "w1")]
    [TestCase(null, "set", "w1", "x")]
    [TestCase("r1", "set", "r1", "x")]
    [TestCase("w1", "set", "w1", "x", "GET")]
    [TestCase("w1", "incr", "w1")]
    [TestCase("r1", "incr", "r1")]
    [TestCase(null, "incr", "b1")]
    [TestCase(null, "exists", "w1", "r1")]
    [TestCase(null, "type", "w1")]
    [TestCase(null, "strlen", "w1")]
    [TestCase("w1", "ttl", "w1")]
    [TestCase(null, "lpush", "w1", "a")]
    [TestCase("w1", "lpop", "w1")]
    [TestCase(null, "lmove", "b1", "w1", "LEFT", "RIGHT")]
    [TestCase("w1", "lmove", "w1", "b1", "LEFT", "RIGHT")]
    [TestCase(null, "copy", "r1", "w1")]
    [TestCase("w1", "copy", "w1", "w2")]
    [TestCase(null, "del", "w1")]
    [TestCase("r1", "del", "r1")]
    [TestCase(null, "zunionstore", "w1", "2", "r1", "r2")]
    [TestCase("w2", "zunionstore", "w1", "2", "r1", "w2")]
    [TestCase(null, "expire", "w1", "10")]
    [TestCase(null, "hset", "w1", "f", "v")]
    [TestCase("w1", "hincrby", "w1", "f", "1")]
    [TestCase(null, "eval_ro", "return 1", "1", "r1")]
    [TestCase("r1", "eval", "return 1", "1", "r1")]
    public void KeyPermissions_FollowRedisKeySpecs(string? refused, params string[] command)
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "rw", "on", "nopass", "%R~r*", "%W~w*", "~b*", "+@all"));
        var reply = Call(["ACL", "DRYRUN", "rw", .. command]);
        if (refused == null)
        {
            RespAssert.IsOk(reply);
        }
        else
        {
            RespAssert.IsBulk(reply, $"This user has no permissions to access the '{refused}' key");
        }
    }

    [Test]
    public void AclPubsubDefault_AllChannels_ForNewUsersAndReset()
    {
        try
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "acl-pubsub-default", "allchannels"));
            RespAssert.IsOk(Call("ACL", "SETUSER", "pb"));
            RespAssert.IsOk(Call("ACL", "SETUSER", "pb2", "reset"));
            var list = Call("ACL", "LIST").AsStrings();
            Assert.That(list, Has.Member("user pb off &* -@all").And.Member("user pb2 off sanitize-payload &* -@all"));
        }
        finally
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "acl-pubsub-default", "resetchannels"));
        }
    }

    [Test]
    public void ClientInfo_ShowsTheUser()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "alice", "on", ">p1", "+client|info"));
        using var c = LoginAs("alice", "p1");
        Assert.That(c.Call("CLIENT", "INFO").Text, Does.Contain(" user=alice "));
        Assert.That(Call("CLIENT", "INFO").Text, Does.Contain(" user=default "));
    }

    [Test]
    public void Log_KeepsAtMostAcllogMaxLenEntries()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "alice", "on", ">p1", "~k*", "+get"));
        try
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "acllog-max-len", "2"));
            using var c = LoginAs("alice", "p1");
            RespAssert.IsErrorStartingWith(c.Call("SET", "k", "v"), "NOPERM");
            RespAssert.IsErrorStartingWith(c.Call("INCR", "k"), "NOPERM");
            RespAssert.IsErrorStartingWith(c.Call("GET", "other"), "NOPERM");
            RespAssert.IsErrorStartingWith(c.Call("GET", "other"), "NOPERM");
            var log = Call("ACL", "LOG").Items!;
            Assert.That(log, Has.Length.EqualTo(2));
            var newest = Fields(log[0]);
            Assert.That((newest["object"], newest["count"]), Is.EqualTo(("other", "2")), "a repeated denial is counted in one entry");
            Assert.That(Fields(log[1])["object"], Is.EqualTo("incr"));
            Assert.That(Call("ACL", "LOG", "-1").Items, Is.Empty);
        }
        finally
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "acllog-max-len", "128"));
        }
    }

    [TestCase(new[] { "(~a bogus)" }, "ERR Error in ACL SETUSER modifier '(~a bogus)': Syntax error")]
    [TestCase(new[] { "(~a on)" }, "ERR Error in ACL SETUSER modifier '(~a on)': Syntax error")]
    [TestCase(new[] { "(~a", ">x)" }, "ERR Error in ACL SETUSER modifier '(~a >x)': Syntax error")]
    [TestCase(new[] { "(~a", "+get" }, "ERR Unmatched parenthesis in acl selector starting at '(~a'.")]
    [TestCase(new[] { "(~a +get)x" }, "ERR Unmatched parenthesis in acl selector starting at '(~a +get)x'.")]
    [TestCase(new[] { "x(~a)" }, "ERR Error in ACL SETUSER modifier 'x(~a)': Syntax error")]
    public void Selectors_Errors(string[] rules, string error)
    {
        RespAssert.IsError(Call(["ACL", "SETUSER", "s", .. rules]), error);
        RespAssert.IsNil(Call("ACL", "GETUSER", "s"));
    }

    [Test]
    public void Selectors_ListGetUserAndClear()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "s", "(~a +get)", "(%R~b", "+set)", "~c", "+incr"));
        RespAssert.IsOk(Call("ACL", "SETUSER", "t", "( ~a +get )", "()", "(+@all &x)"));
        Assert.That(Call("ACL", "LIST").AsStrings(), Is.SupersetOf(new[]
        {
            "user s off ~c resetchannels -@all +incr (~a resetchannels -@all +get) (%R~b resetchannels -@all +set)",
            "user t off resetchannels -@all (~a resetchannels -@all +get) (resetchannels -@all) (resetchannels &x +@all)",
        }));
        var r = Call("ACL", "GETUSER", "s");
        Assert.That(r.Items![10].Text, Is.EqualTo("selectors"));
        var selectors = r.Items[11].Items!;
        Assert.That(selectors, Has.Length.EqualTo(2));
        Assert.That(selectors[0].AsStrings(), Is.EqualTo(new[] { "commands", "-@all +get", "keys", "~a", "channels", "" }));
        Assert.That(selectors[1].AsStrings(), Is.EqualTo(new[] { "commands", "-@all +set", "keys", "%R~b", "channels", "" }));
        RespAssert.IsOk(Call("ACL", "SETUSER", "s", "clearselectors"));
        Assert.That(Call("ACL", "LIST").AsStrings(), Has.Member("user s off ~c resetchannels -@all +incr"));
    }

    [Test]
    public void Selectors_AnyOneMayAllowTheCommand()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "s", "on", "nopass", "~c", "+incr", "(~a +get)", "(%R~b +set)"));
        RespAssert.IsOk(Call("ACL", "DRYRUN", "s", "get", "a"));
        RespAssert.IsOk(Call("ACL", "DRYRUN", "s", "incr", "c"));
        RespAssert.IsBulk(Call("ACL", "DRYRUN", "s", "get", "c"), "This user has no permissions to access the 'c' key");
        RespAssert.IsBulk(Call("ACL", "DRYRUN", "s", "set", "b", "1"), "This user has no permissions to access the 'b' key");
        RespAssert.IsBulk(Call("ACL", "DRYRUN", "s", "incr", "a"), "This user has no permissions to access the 'a' key");
        RespAssert.IsBulk(Call("ACL", "DRYRUN", "s", "mget", "a", "c"), "This user has no permissions to run the 'mget' command");
        using var c = LoginAs("s", "x");
        RespAssert.IsNil(c.Call("GET", "a"));
        RespAssert.IsInteger(c.Call("INCR", "c"), 1);
        RespAssert.IsError(c.Call("SET", "a", "1"), "NOPERM this user has no permissions to access one of the keys used as arguments");
        RespAssert.IsError(c.Call("LPUSH", "a", "x"), "NOPERM this user has no permissions to run the 'lpush' command");
    }

    [Test]
    public void FirstArgRules()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "f", "on", "nopass", "~*", "+select|0", "+select|1", "+SELECT|0", "+get|kk"));
        Assert.That(Call("ACL", "GETUSER", "f").Items![5].Text, Does.Contain("+select|0 +select|1").And.Contain("+get|kk").And.StartWith("-@all "));
        RespAssert.IsOk(Call("ACL", "DRYRUN", "f", "select", "0"));
        RespAssert.IsOk(Call("ACL", "DRYRUN", "f", "GET", "KK"));
        RespAssert.IsBulk(Call("ACL", "DRYRUN", "f", "select", "2"), "This user has no permissions to run the 'select' command");
        using (var c = LoginAs("f", "x"))
        {
            RespAssert.IsOk(c.Call("SELECT", "1"));
            RespAssert.IsError(c.Call("SELECT", "2"), "NOPERM this user has no permissions to run the 'select' command");
        }
        RespAssert.IsError(Call("ACL", "SETUSER", "f", "-select|0"), "ERR Error in ACL SETUSER modifier '-select|0': Unknown command or category name in ACL");
        RespAssert.IsOk(Call("ACL", "SETUSER", "g", "+select|0", "-@keyspace"));
        RespAssert.IsOk(Call("ACL", "SETUSER", "h", "+select|0", "+@connection"));
        RespAssert.IsOk(Call("ACL", "SETUSER", "i", "+select|0", "-select"));
        var list = Call("ACL", "LIST").AsStrings();
        Assert.That(list, Has.Member("user g off resetchannels -@all +select|0"));
        Assert.That(list, Has.Member("user h off resetchannels -@all +@connection"));
        Assert.That(list, Has.Member("user i off resetchannels -@all"));
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void Denials_CountedInInfoStats()
    {
        TestTarget.RequireNativeKv(); // acl_access_denied_* appeared in Redis 7.2
        long Field(string name)
        {
            foreach (var line in Call("INFO", "stats").Text!.Split("\r\n"))
            {
                if (line.StartsWith(name + ":", StringComparison.Ordinal))
                {
                    return long.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            throw new AssertionException($"INFO stats has no {name}");
        }
        long cmd = Field("acl_access_denied_cmd"), key = Field("acl_access_denied_key"), auth = Field("acl_access_denied_auth");
        RespAssert.IsOk(Call("ACL", "SETUSER", "alice", "on", ">p1", "~k*", "+get", "+eval"));
        using (var c = LoginAs("alice", "p1"))
        {
            RespAssert.IsErrorStartingWith(c.Call("SET", "k", "v"), "NOPERM");
            RespAssert.IsErrorStartingWith(c.Call("GET", "other"), "NOPERM");
            RespAssert.IsErrorStartingWith(c.Call("EVAL", "return redis.call('get', 'other')", "0"), "ERR The user executing the script");
            RespAssert.IsErrorStartingWith(c.Call("AUTH", "alice", "wrong"), "WRONGPASS");
        }
        Assert.That(Field("acl_access_denied_cmd"), Is.EqualTo(cmd + 1));
        Assert.That(Field("acl_access_denied_key"), Is.EqualTo(key + 2));
        Assert.That(Field("acl_access_denied_auth"), Is.EqualTo(auth + 1));
        RespAssert.IsOk(Call("CONFIG", "RESETSTAT"));
        Assert.That(Field("acl_access_denied_key"), Is.EqualTo(0));
    }
}
