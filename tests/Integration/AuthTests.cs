// requirepass and AUTH (Redis's authCommand and processCommand's NOAUTH gate) through raw sockets:
// which commands an unauthenticated client may run, the order of the checks (unknown command and arity
// before NOAUTH), the small protocol limits before AUTH, CONFIG SET requirepass, and the INFO counters.
// Every expectation holds against redis-server 7.0 too (NATIVEKV_TEST_TARGET=redis) except the INFO
// counters, which Redis added in 7.2.
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class AuthTests : ServerFixture
{
    private const string Secret = "sekret";

    protected override ServerOptions Options => new() { ExtraArgs = ["--requirepass", Secret] };

    protected override string? Password => Secret;

    [Test]
    public void Unauthenticated_CommandsGetNoAuth_UntilAuthSucceeds()
    {
        using var c = NewClient();
        RespAssert.IsError(c.Call("PING"), "NOAUTH Authentication required.");
        RespAssert.IsError(c.Call("GET", "x"), "NOAUTH Authentication required.");
        RespAssert.IsError(c.Call("ACL", "WHOAMI"), "NOAUTH Authentication required.");
        RespAssert.IsError(c.Call("CONFIG", "GET", "requirepass"), "NOAUTH Authentication required.");
        RespAssert.IsError(c.Call("AUTH", "wrong"), "WRONGPASS invalid username-password pair or user is disabled.");
        RespAssert.IsError(c.Call("AUTH", "default", "wrong"), "WRONGPASS invalid username-password pair or user is disabled.");
        RespAssert.IsError(c.Call("AUTH", "nobody", Secret), "WRONGPASS invalid username-password pair or user is disabled.");
        RespAssert.IsError(c.Call("GET", "x"), "NOAUTH Authentication required.");
        RespAssert.IsOk(c.Call("AUTH", Secret));
        RespAssert.IsNil(c.Call("GET", "x"));
        RespAssert.IsBulk(c.Call("ACL", "WHOAMI"), "default");
    }

    [Test]
    public void Unauthenticated_UnknownCommandAndArityErrorsComeFirst()
    {
        using var c = NewClient();
        RespAssert.IsError(c.Call("NOSUCH", "a"), "ERR unknown command 'NOSUCH', with args beginning with: 'a' ");
        RespAssert.IsError(c.Call("GET"), "ERR wrong number of arguments for 'get' command");
        RespAssert.IsError(c.Call("AUTH"), "ERR wrong number of arguments for 'auth' command");
        RespAssert.IsError(c.Call("AUTH", "a", "b", "c"), "ERR syntax error");
    }

    [Test]
    public void AuthWithUserName_DefaultUser()
    {
        using var c = NewClient();
        RespAssert.IsOk(c.Call("AUTH", "default", Secret));
        RespAssert.IsOk(c.Call("SET", "k", "v"));
        RespAssert.IsBulk(c.Call("GET", "k"), "v");
    }

    [Test]
    public void Quit_IsAllowedBeforeAuth()
    {
        using var c = NewClient();
        RespAssert.IsOk(c.Call("QUIT"));
        Assert.That(c.WaitForClose(TimeSpan.FromSeconds(5)), Is.True, "QUIT closes the connection");
    }

    [Test]
    public void Unauthenticated_MoreThanTenArguments_ProtocolErrorAndClose()
    {
        using var c = NewClient();
        var args = Enumerable.Repeat("a", 11).ToArray();
        RespAssert.IsError(c.Call(args), "ERR Protocol error: unauthenticated multibulk length");
        Assert.That(c.WaitForClose(TimeSpan.FromSeconds(5)), Is.True);
    }

    [Test]
    public void Unauthenticated_TenArguments_AreParsed()
    {
        using var c = NewClient();
        var args = Enumerable.Repeat("a", 10).ToArray();
        RespAssert.IsErrorStartingWith(c.Call(args), "ERR unknown command 'a'");
    }

    [Test]
    public void Unauthenticated_BulkOver16K_ProtocolErrorAndClose()
    {
        using var c = NewClient();
        c.Send("*2\r\n$3\r\nGET\r\n$16385\r\n");
        RespAssert.IsError(c.Read(), "ERR Protocol error: unauthenticated bulk length");
        Assert.That(c.WaitForClose(TimeSpan.FromSeconds(5)), Is.True);
    }

    [Test]
    public void Unauthenticated_Bulk16K_IsAccepted_ThenNoAuth()
    {
        using var c = NewClient();
        RespAssert.IsError(c.Call("GET", new string('a', 16384)), "NOAUTH Authentication required.");
    }

    [Test]
    public void Authenticated_LimitsDoNotApply()
    {
        using var c = NewClient();
        RespAssert.IsOk(c.Call("AUTH", Secret));
        var args = new[] { "MSET" }.Concat(Enumerable.Range(0, 10).SelectMany(i => new[] { "k" + i, new string('v', 20000) })).ToArray();
        RespAssert.IsOk(c.Call(args));
        RespAssert.IsInteger(c.Call("STRLEN", "k9"), 20000);
    }

    [Test]
    public void AuthInPipeline_LaterCommandsRunAuthenticated()
    {
        using var c = NewClient();
        c.Send(Encoding.ASCII.GetBytes("AUTH " + Secret + "\r\n").Concat(RawClient.Encode("SET", "p", "1")).Concat(RawClient.Encode("GET", "p")).ToArray());
        RespAssert.IsOk(c.Read());
        RespAssert.IsOk(c.Read());
        RespAssert.IsBulk(c.Read(), "1");
    }

    [Test]
    public void ConfigSetRequirepass_ChangesThePassword_ExistingClientsStayLoggedIn()
    {
        try
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "requirepass", "other"));
            RespAssert.IsArray(Call("CONFIG", "GET", "requirepass"), "requirepass", "other");
            RespAssert.IsOk(Call("SET", "still", "works"));
            using var c = NewClient();
            RespAssert.IsError(c.Call("PING"), "NOAUTH Authentication required.");
            RespAssert.IsError(c.Call("AUTH", Secret), "WRONGPASS invalid username-password pair or user is disabled.");
            RespAssert.IsOk(c.Call("AUTH", "other"));
            RespAssert.IsBulk(c.Call("GET", "still"), "works");
            Assert.That(Call("ACL", "LIST").AsStrings(), Has.Some.StartsWith("user default on #"));
        }
        finally
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "requirepass", Secret));
        }
    }

    [Test]
    public void ConfigSetEmptyRequirepass_MakesWaitingClientsAuthenticated()
    {
        using var c = NewClient();
        RespAssert.IsError(c.Call("PING"), "NOAUTH Authentication required.");
        try
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "requirepass", ""));
            RespAssert.IsSimple(c.Call("PING"), "PONG");
            Assert.That(Call("ACL", "LIST").AsStrings(), Has.Member("user default on nopass ~* &* +@all"));
        }
        finally
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "requirepass", Secret));
        }
        using var d = NewClient();
        RespAssert.IsError(d.Call("PING"), "NOAUTH Authentication required.");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void AuthFailures_CountedInInfoStats()
    {
        TestTarget.RequireNativeKv(); // acl_access_denied_* appeared in Redis 7.2
        long before = InfoField("acl_access_denied_auth");
        using var c = NewClient();
        RespAssert.IsErrorStartingWith(c.Call("AUTH", "bad"), "WRONGPASS");
        RespAssert.IsErrorStartingWith(c.Call("AUTH", "nobody", "bad"), "WRONGPASS");
        Assert.That(InfoField("acl_access_denied_auth"), Is.EqualTo(before + 2));
        Assert.That(InfoField("acl_access_denied_cmd"), Is.GreaterThanOrEqualTo(0));
    }

    private long InfoField(string name)
    {
        string info = Call("INFO", "stats").Text!;
        foreach (var line in info.Split("\r\n"))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        throw new AssertionException($"INFO stats has no {name}:\n{info}");
    }
}
