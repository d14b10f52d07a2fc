// Real clients against a server with requirepass and an ACL user: redis-cli (-a, --user/--pass,
// --no-auth-warning), StackExchange.Redis (Password, User in its options) and redis-py run as a
// subprocess (Redis(password=...), Redis(username=..., password=...), ACL commands through
// execute_command). Differential: also holds against redis-server 7.0.
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;
using StackExchange.Redis;

namespace NativeKv.Tests.Integration;

public sealed class SecurityClientTests : ServerFixture
{
    private const string Secret = "s3cret pass";
    private const string Python = "/usr/bin/python3";

    protected override ServerOptions Options => new()
    {
        ExtraArgs = ["--requirepass", Secret],
    };

    protected override string? Password => Secret;

    [SetUp]
    public void CreateUser()
    {
        RespAssert.IsOk(Call("ACL", "SETUSER", "app", "reset", "on", ">apppw", "~app:*", "+@read", "+@write", "+@connection", "-@dangerous", "+acl|whoami"));
    }

    private string Port => Server.Port.ToString(CultureInfo.InvariantCulture);

    private ProcessResult Cli(params string[] args)
    {
        TestTarget.RequireTool(TestTarget.RedisCli, "redis-tools");
        return ProcessRunner.Run(TestTarget.RedisCli, ["-h", "127.0.0.1", "-p", Port, .. args], null, TimeSpan.FromSeconds(30));
    }

    [Test]
    public void RedisCli_PasswordOption()
    {
        var r = Cli("-a", Secret, "--no-auth-warning", "SET", "k", "v");
        Assert.That(r.StdOut, Is.EqualTo("OK\n"), r.ToString());
        Assert.That(r.StdErr, Does.Not.Contain("Warning"), r.ToString());
        r = Cli("-a", Secret, "GET", "k");
        Assert.That(r.StdOut, Is.EqualTo("v\n"), r.ToString());
        Assert.That(r.StdErr, Does.Contain("Using a password with '-a' or '-u' option on the command line interface may not be safe."), r.ToString());
        r = Cli("GET", "k");
        Assert.That(r.StdOut, Is.EqualTo("NOAUTH Authentication required.\n\n"), r.ToString()); // redis-cli adds a blank line after an error
        r = Cli("-a", "wrong", "--no-auth-warning", "GET", "k");
        Assert.That(r.StdErr + r.StdOut, Does.Contain("WRONGPASS invalid username-password pair or user is disabled."), r.ToString());
    }

    [Test]
    public void RedisCli_UserAndPass()
    {
        var r = Cli("--user", "app", "--pass", "apppw", "--no-auth-warning", "SET", "app:1", "x");
        Assert.That(r.StdOut, Is.EqualTo("OK\n"), r.ToString());
        r = Cli("--user", "app", "--pass", "apppw", "--no-auth-warning", "ACL", "WHOAMI");
        Assert.That(r.StdOut, Is.EqualTo("app\n"), r.ToString());
        r = Cli("--user", "app", "--pass", "apppw", "--no-auth-warning", "SET", "other", "x");
        Assert.That(r.StdOut, Is.EqualTo("NOPERM this user has no permissions to access one of the keys used as arguments\n\n"), r.ToString());
        r = Cli("--user", "app", "--pass", "apppw", "--no-auth-warning", "FLUSHALL");
        Assert.That(r.StdOut, Is.EqualTo("NOPERM this user has no permissions to run the 'flushall' command\n\n"), r.ToString());
    }

    private ConfigurationOptions MuxOptions(string? user, string password) => new()
    {
        EndPoints = { { "127.0.0.1", Server.Port } },
        User = user,
        Password = password,
        AbortOnConnectFail = true,
        ConnectTimeout = 5000,
        SyncTimeout = 5000,
        ConfigurationChannel = "",
        TieBreaker = "",
        CommandMap = CommandMap.Create(
            new HashSet<string> { "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE", "CLUSTER", "SENTINEL", "CLIENT" },
            available: false),
    };

    [Test]
    public void StackExchangeRedis_Password()
    {
        using var mux = ConnectionMultiplexer.Connect(MuxOptions(null, Secret));
        var db = mux.GetDatabase();
        Assert.That(db.StringSet("k", "v"), Is.True);
        Assert.That((string?)db.StringGet("k"), Is.EqualTo("v"));
    }

    [Test]
    public void StackExchangeRedis_UserAndPassword_PermissionsApply()
    {
        using var mux = ConnectionMultiplexer.Connect(MuxOptions("app", "apppw"));
        var db = mux.GetDatabase();
        Assert.That(db.StringSet("app:k", "v"), Is.True);
        Assert.That((string?)db.StringGet("app:k"), Is.EqualTo("v"));
        var e = Assert.Throws<RedisServerException>(() => db.StringGet("elsewhere"));
        Assert.That(e!.Message, Does.StartWith("NOPERM"));
    }

    [Test]
    public void StackExchangeRedis_WrongPassword_DoesNotConnect()
    {
        Assert.That(() =>
        {
            using var mux = ConnectionMultiplexer.Connect(MuxOptions(null, "wrong"));
            mux.GetDatabase().StringGet("k");
        }, Throws.InstanceOf<RedisConnectionException>());
    }

    private ProcessResult Py(string script)
    {
        TestTarget.RequireTool(Python, "python3-redis");
        var r = ProcessRunner.Run(Python, ["-c", script, Port], null, TimeSpan.FromSeconds(30));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        return r;
    }

    [Test]
    public void RedisPy_PasswordAndUser_AclThroughExecuteCommand()
    {
        var r = Py("""
            import sys, redis
            port = int(sys.argv[1])
            r = redis.Redis(host='127.0.0.1', port=port, password='s3cret pass', decode_responses=True)
            r.set('py:k', 'v')
            print(r.get('py:k'))
            print(r.execute_command('ACL', 'SETUSER', 'pyuser', 'on', '>pypw', '~py:*', '+get'))
            u = redis.Redis(host='127.0.0.1', port=port, username='pyuser', password='pypw', decode_responses=True)
            print(u.get('py:k'))
            try:
                u.set('py:k', 'x')
            except redis.exceptions.NoPermissionError as e:
                print('noperm', e)
            try:
                redis.Redis(host='127.0.0.1', port=port, password='wrong').ping()
            except redis.exceptions.RedisError as e:
                print('autherr', e)
            try:
                redis.Redis(host='127.0.0.1', port=port).get('x')
            except redis.exceptions.RedisError as e:
                print('noauth', e)
            print(r.execute_command('ACL', 'DELUSER', 'pyuser'))
            """);
        Assert.That(r.StdOut.Split('\n'), Is.EqualTo(new[]
        {
            "v",
            "OK",
            "v",
            "noperm this user has no permissions to run the 'set' command",
            "autherr WRONGPASS invalid username-password pair or user is disabled.",
            "noauth Authentication required.",
            "1",
            "",
        }), r.ToString());
    }
}
