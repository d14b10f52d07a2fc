// Security settings that shape the server as a whole, each with its own server process: protected-mode
// (refusing non-loopback clients with Redis's DENIED explanation, tested from this machine's own
// non-loopback address), rename-command in the config file, the aclfile (loaded at start, ACL LOAD,
// ACL SAVE), `user` lines in the config file, and the random hash seed per start. Differential where
// redis-server behaves the same (NATIVEKV_TEST_TARGET=redis).
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[Category(TestTarget.Integration)]
public sealed class SecurityServerTests
{
    private const string Denied =
        "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

    /// <summary>An IPv4 address of this machine that is not loopback, or null.</summary>
    private static IPAddress? NonLoopbackAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    private static IPAddress RequireNonLoopback() =>
        NonLoopbackAddress() ?? throw new IgnoreException("this machine has no non-loopback IPv4 address; ProtectedMode.Denies is covered by the unit tests");

    /// <summary>Connects to <paramref name="address"/>, optionally sends <paramref name="send"/>, and reads
    /// until the server closes the connection, a full reply line arrives, or 5 s pass.</summary>
    private static (string Text, bool Closed) Exchange(IPAddress address, int port, string? send)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(new IPEndPoint(address, port));
        socket.ReceiveTimeout = 5000;
        if (send != null)
        {
            socket.Send(Encoding.ASCII.GetBytes(send));
        }
        var received = new MemoryStream();
        var buffer = new byte[8192];
        bool closed = false;
        try
        {
            while (true)
            {
                int n = socket.Receive(buffer);
                if (n == 0)
                {
                    closed = true;
                    break;
                }
                received.Write(buffer, 0, n);
                if (send != null && received.Length > 0 && buffer[n - 1] == '\n')
                {
                    break;
                }
            }
        }
        catch (SocketException)
        {
            // timeout or reset after the reply
        }
        return (Encoding.ASCII.GetString(received.ToArray()), closed);
    }

    [Test]
    public void ProtectedMode_BoundToAll_NonLoopbackClientDenied_LoopbackServed()
    {
        var address = RequireNonLoopback();
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--bind", "*"] });
        var (text, closed) = Exchange(address, server.Port, null);
        Assert.That(text, Is.EqualTo(Denied));
        Assert.That(closed, Is.True, "the refused client is disconnected");
        Assert.That(Exchange(IPAddress.Loopback, server.Port, "PING\r\n").Text, Is.EqualTo("+PONG\r\n"));
    }

    [Test]
    public void ProtectedMode_IPv6_NonLoopbackClientDenied()
    {
        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6 && !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal);
        if (address == null)
        {
            Assert.Ignore("this machine has no global IPv6 address; ProtectedMode.Denies is covered by the unit tests");
        }
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--bind", "*", "-::*"] });
        Assert.That(Exchange(address!, server.Port, null).Text, Is.EqualTo(Denied));
        Assert.That(Exchange(IPAddress.IPv6Loopback, server.Port, "PING\r\n").Text, Is.EqualTo("+PONG\r\n"));
    }

    [Test]
    public void ProtectedMode_BoundToTheAddressItself_StillDenied()
    {
        var address = RequireNonLoopback();
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--bind", "127.0.0.1", address.ToString()] });
        Assert.That(Exchange(address, server.Port, null).Text, Is.EqualTo(Denied));
    }

    [Test]
    public void ProtectedMode_WithPassword_NonLoopbackClientMustAuth()
    {
        var address = RequireNonLoopback();
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--bind", "*", "--requirepass", "pw"] });
        Assert.That(Exchange(address, server.Port, "PING\r\n").Text, Is.EqualTo("-NOAUTH Authentication required.\r\n"));
        Assert.That(Exchange(address, server.Port, "AUTH pw\r\n").Text, Is.EqualTo("+OK\r\n"));
    }

    [Test]
    public void ProtectedMode_Off_NonLoopbackClientServed_AndConfigSetAtRunTime()
    {
        var address = RequireNonLoopback();
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--bind", "*", "--protected-mode", "no"] });
        Assert.That(Exchange(address, server.Port, "PING\r\n").Text, Is.EqualTo("+PONG\r\n"));
        using var admin = server.Connect();
        RespAssert.IsOk(admin.Call("CONFIG", "SET", "protected-mode", "yes"));
        Assert.That(Exchange(address, server.Port, null).Text, Is.EqualTo(Denied));
        RespAssert.IsOk(admin.Call("CONFIG", "SET", "protected-mode", "no"));
        Assert.That(Exchange(address, server.Port, "PING\r\n").Text, Is.EqualTo("+PONG\r\n"));
    }

    private static string WriteTemp(string name, string text)
    {
        string dir = Directory.CreateTempSubdirectory("nativekv-sec-").FullName;
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Test]
    public void RenameCommand_NewNameWorks_OldNameUnknown_EmptyDisables()
    {
        string conf = WriteTemp("rename.conf", "rename-command get fetch\nrename-command flushall \"\"\nrename-command config cfg\n");
        using var server = ServerProcess.Start(new ServerOptions { ConfigFile = conf });
        using var c = server.Connect();
        RespAssert.IsOk(c.Call("SET", "a", "1"));
        RespAssert.IsError(c.Call("GET", "a"), "ERR unknown command 'GET', with args beginning with: 'a' ");
        RespAssert.IsBulk(c.Call("FETCH", "a"), "1");
        RespAssert.IsBulk(c.Call("fetch", "a"), "1");
        RespAssert.IsError(c.Call("FLUSHALL"), "ERR unknown command 'FLUSHALL', with args beginning with: ");
        RespAssert.IsErrorStartingWith(c.Call("CONFIG", "GET", "port"), "ERR unknown command 'CONFIG'");
        Assert.That(c.Call("CFG", "GET", "port").AsStrings()[0], Is.EqualTo("port"));
        // Scripts call commands by their new names too; ACL rules keep the original names.
        RespAssert.IsErrorStartingWith(c.Call("EVAL", "return redis.call('get', 'a')", "0"), "ERR Unknown Redis command called from script");
        RespAssert.IsBulk(c.Call("EVAL", "return redis.call('fetch', 'a')", "0"), "1");
        RespAssert.IsOk(c.Call("ACL", "SETUSER", "u", "+get"));
        RespAssert.IsError(c.Call("ACL", "SETUSER", "u", "+fetch"), "ERR Error in ACL SETUSER modifier '+fetch': Unknown command or category name in ACL");
    }

    [TestCase("rename-command nosuch foo", "No such command in rename-command")]
    [TestCase("rename-command get set", "Target command name already exists")]
    [TestCase("rename-command get", "Bad directive or wrong number of arguments")]
    public void RenameCommand_Invalid_ServerRefusesToStart(string line, string reason)
    {
        string conf = WriteTemp("bad.conf", line + "\n");
        using var server = ServerProcess.Start(new ServerOptions { ConfigFile = conf, WaitForReady = false });
        int code = server.WaitForExit(TimeSpan.FromSeconds(10));
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(server.Output, Does.Contain(reason).And.Contain(line));
    }

    [Test]
    public void AclFile_LoadedAtStart_SaveAndLoad()
    {
        string path = WriteTemp("users.acl",
            "user alice on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~k* resetchannels -@all +get\n" +
            "user default on nopass ~* &* +@all\n");
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--aclfile", path] });
        using var c = server.Connect();
        Assert.That(c.Call("ACL", "USERS").AsStrings(), Is.EqualTo(new[] { "alice", "default" }));
        using (var a = server.Connect())
        {
            RespAssert.IsOk(a.Call("AUTH", "alice", "p1"));
            RespAssert.IsNil(a.Call("GET", "k1"));
            RespAssert.IsErrorStartingWith(a.Call("SET", "k1", "v"), "NOPERM");
        }
        RespAssert.IsOk(c.Call("ACL", "SETUSER", "bob", "on", "nopass", "~*", "+@read", "(~x +set)"));
        RespAssert.IsOk(c.Call("ACL", "SAVE"));
        var saved = File.ReadAllLines(path);
        Assert.That(saved, Is.EqualTo(c.Call("ACL", "LIST").AsStrings()));

        // An edited file replaces the users; clients of users that were replaced are disconnected.
        using var bobClient = server.Connect();
        RespAssert.IsOk(bobClient.Call("AUTH", "bob", "x"));
        File.WriteAllText(path, "user carol on nopass ~k +@hash (~a +get) (&c ~b +set)\n");
        RespAssert.IsOk(c.Call("ACL", "LOAD"));
        Assert.That(c.Call("ACL", "USERS").AsStrings(), Is.EqualTo(new[] { "carol", "default" }));
        Assert.That(c.Call("ACL", "LIST").AsStrings(), Has.Member("user carol on nopass ~k resetchannels -@all +@hash (~a resetchannels -@all +get) (~b resetchannels &c -@all +set)"));
        Assert.That(bobClient.WaitForClose(TimeSpan.FromSeconds(5)), Is.True);
        RespAssert.IsSimple(c.Call("PING"), "PONG");

        // A bad file changes nothing.
        File.WriteAllText(path, "user dave on nopass +@all\nuser erin bogus\n");
        RespAssert.IsErrorStartingWith(c.Call("ACL", "LOAD"), "ERR ");
        Assert.That(c.Call("ACL", "USERS").AsStrings(), Is.EqualTo(new[] { "carol", "default" }));
    }

    [Test]
    public void AclFile_NotConfigured_LoadAndSaveRefused()
    {
        using var server = ServerProcess.Start();
        using var c = server.Connect();
        const string Text = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";
        RespAssert.IsError(c.Call("ACL", "LOAD"), Text);
        RespAssert.IsError(c.Call("ACL", "SAVE"), Text);
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void AclFile_Invalid_ServerRefusesToStart()
    {
        TestTarget.RequireNativeKv(); // Redis refuses too, with its own wording
        string path = WriteTemp("bad.acl", "user alice on bogus\n");
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--aclfile", path], WaitForReady = false });
        Assert.That(server.WaitForExit(TimeSpan.FromSeconds(10)), Is.Not.EqualTo(0));
        Assert.That(server.Output, Does.Contain("bad.acl:1"));
    }

    [Test]
    public void ConfigFileUserLines_AndRequirepass()
    {
        string conf = WriteTemp("users.conf", "user worker on >wpass ~jobs:* +@list +@hash\nrequirepass adminpass\n");
        using var server = ServerProcess.Start(new ServerOptions { ConfigFile = conf });
        using var c = server.Connect();
        RespAssert.IsError(c.Call("LPUSH", "jobs:1", "x"), "NOAUTH Authentication required.");
        RespAssert.IsOk(c.Call("AUTH", "worker", "wpass"));
        RespAssert.IsInteger(c.Call("LPUSH", "jobs:1", "x"), 1);
        RespAssert.IsErrorStartingWith(c.Call("LPUSH", "other", "x"), "NOPERM");
        RespAssert.IsErrorStartingWith(c.Call("SET", "jobs:2", "x"), "NOPERM");
        RespAssert.IsOk(c.Call("AUTH", "adminpass"));
        RespAssert.IsBulk(c.Call("ACL", "WHOAMI"), "default");
        Assert.That(c.Call("ACL", "LIST").AsStrings(), Has.Member("user worker on #7e34b49bd0cd9181c106d38d4bb80aab71cdd37c0c905119c0f37089877a930f ~jobs:* resetchannels -@all +@list +@hash"));
    }

    [Test]
    public void HashSeed_IsRandomPerStart()
    {
        (string[] Keys, string[] Scan, string[] Fields) Orders()
        {
            using var server = ServerProcess.Start();
            using var c = server.Connect();
            var hset = new List<string> { "HSET", "h" };
            for (int i = 0; i < 200; i++)
            {
                RespAssert.IsOk(c.Call("SET", "key:" + i, "v"));
                hset.Add("field:" + i);
                hset.Add("v");
            }
            RespAssert.IsInteger(c.Call([.. hset]), 200);
            RespAssert.IsInteger(c.Call("HSET", "h", "long", new string('x', 100)), 1); // a value over 64 bytes: hashtable encoding
            static string[] Strings(RespValue r) => r.AsStrings().Select(x => x ?? "").ToArray();
            return (Strings(c.Call("KEYS", "key:*")), Strings(c.Call("SCAN", "0", "MATCH", "key:*", "COUNT", "1000").Items![1]), Strings(c.Call("HKEYS", "h")));
        }
        var first = Orders();
        var second = Orders();
        Assert.That(first.Keys, Is.EquivalentTo(second.Keys));
        Assert.That(first.Keys, Is.Not.EqualTo(second.Keys), "KEYS: two starts iterate the keyspace in different orders (random hash seed)");
        Assert.That(first.Scan, Is.Not.EqualTo(second.Scan), "SCAN order differs between starts");
        Assert.That(first.Fields, Is.EquivalentTo(second.Fields));
        Assert.That(first.Fields, Is.Not.EqualTo(second.Fields), "a hashtable hash's field order differs between starts");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void RenameCommand_AofWithRewrittenEntries_LoadsAfterRestart()
    {
        TestTarget.RequireNativeKv();
        string dir = Directory.CreateTempSubdirectory("nativekv-sec-aof-").FullName;
        string conf = Path.Combine(dir, "aof.conf");
        File.WriteAllText(conf, "rename-command set xset\nrename-command pexpireat \"\"\n");
        var options = new ServerOptions { ConfigFile = conf, UseTempDir = false, ExtraArgs = ["--dir", dir, "--appendonly", "yes", "--appendfsync", "always"] };
        using (var server = ServerProcess.Start(options))
        {
            using var c = server.Connect();
            RespAssert.IsOk(c.Call("XSET", "k", "v", "EX", "1000")); // logged as SET ... PXAT
            RespAssert.IsInteger(c.Call("EXPIRE", "k", "2000"), 1);   // logged as PEXPIREAT
            Assert.That(server.Stop(), Is.EqualTo(0));
        }
        using (var server = ServerProcess.Start(options))
        {
            using var c = server.Connect();
            RespAssert.IsBulk(c.Call("GET", "k"), "v");
            Assert.That(RespAssert.IsAnyInteger(c.Call("TTL", "k")), Is.InRange(1990, 2000));
        }
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void AclCategories_OfEveryCommand_MatchRedis()
    {
        TestTarget.RequireNativeKv();
        TestTarget.RequireTool("/usr/bin/redis-server", "redis-server");
        using var nativekv = ServerProcess.Start();
        using var redis = ServerProcess.Start(new ServerOptions { Binary = "/usr/bin/redis-server" });
        using var n = nativekv.Connect();
        using var r = redis.Connect();
        Dictionary<string, string[]> Categories(RawClient c)
        {
            var d = new Dictionary<string, string[]>();
            void Add(RespValue info)
            {
                d[info.Items![0].Text!] = info.Items[6].AsStrings().Select(x => x!).Order(StringComparer.Ordinal).ToArray();
                foreach (var sub in info.Items[9].Items ?? [])
                {
                    Add(sub);
                }
            }
            foreach (var info in c.Call("COMMAND").Items!)
            {
                Add(info);
            }
            return d;
        }
        var ours = Categories(n);
        var theirs = Categories(r);
        var differences = ours.Keys.Where(theirs.ContainsKey)
            .Where(k => !ours[k].SequenceEqual(theirs[k]))
            .Select(k => $"{k}: nativekv {string.Join(' ', ours[k])} / redis {string.Join(' ', theirs[k])}")
            .ToList();
        Assert.That(differences, Is.Empty);
        Assert.That(ours.Keys.Count(theirs.ContainsKey), Is.GreaterThan(150), "most commands are compared");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void AclKeyPermissions_OfEveryKeyedCommand_MatchRedis()
    {
        TestTarget.RequireNativeKv();
        TestTarget.RequireTool("/usr/bin/redis-server", "redis-server");
        using var nativekv = ServerProcess.Start();
        using var redis = ServerProcess.Start(new ServerOptions { Binary = "/usr/bin/redis-server" });
        using var n = nativekv.Connect();
        using var r = redis.Connect();
        foreach (var c in new[] { n, r })
        {
            RespAssert.IsOk(c.Call("ACL", "SETUSER", "reader", "on", "nopass", "%R~*", "+@all"));
            RespAssert.IsOk(c.Call("ACL", "SETUSER", "writer", "on", "nopass", "%W~*", "+@all"));
        }
        // Every command of NativeKv's table with key positions, called with the least arguments its
        // arity allows, every argument "1" (a key name, and a valid numkeys for movable-key commands).
        var calls = new List<string[]>();
        void Collect(RespValue info, string? parent)
        {
            string name = info.Items![0].Text!;
            long arity = info.Items[1].Integer;
            bool hasKeys = info.Items[3].Integer > 0 || info.Items[2].AsStrings().Contains("movablekeys");
            if (info.Items[9].Items is { Length: > 0 } subs)
            {
                foreach (var sub in subs)
                {
                    Collect(sub, name);
                }
                return;
            }
            if (!hasKeys)
            {
                return;
            }
            int argc = (int)Math.Abs(arity);
            var argv = new List<string>();
            if (parent != null)
            {
                argv.Add(parent);
                argv.Add(name[(parent.Length + 1)..]);
            }
            else
            {
                argv.Add(name);
            }
            while (argv.Count < Math.Max(argc, 3))
            {
                argv.Add("1");
            }
            calls.Add([.. argv]);
        }
        foreach (var info in n.Call("COMMAND").Items!)
        {
            Collect(info, null);
        }
        var differences = new List<string>();
        foreach (var argv in calls)
        {
            if (r.Call("COMMAND", "INFO", argv[0]).Items![0].IsNull)
            {
                continue; // not a Redis command
            }
            foreach (var user in new[] { "reader", "writer" })
            {
                string ours = n.Call(["ACL", "DRYRUN", user, .. argv]).ToString();
                string theirs = r.Call(["ACL", "DRYRUN", user, .. argv]).ToString();
                if (ours != theirs)
                {
                    differences.Add($"{user} {string.Join(' ', argv)}: nativekv {ours} / redis {theirs}");
                }
            }
        }
        Assert.That(calls, Has.Count.GreaterThan(100));
        Assert.That(differences, Is.Empty);
    }
}
