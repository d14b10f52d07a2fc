// StackExchange.Redis, the most used .NET client, against the real server: connecting (its handshake of
// INFO, CONFIG GET, ECHO ...), strings, expiry, deletes, batches and concurrent async pipelining, and the
// admin API (allowAdmin). Transactions: TransactionClientTests.cs.
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;
using StackExchange.Redis;

namespace NativeKv.Tests.Integration;

public sealed class StackExchangeRedisTests : ServerFixture
{
    private ConnectionMultiplexer? _mux;
    private string _connectLog = "";

    private ConnectionMultiplexer Mux => _mux ?? throw new InvalidOperationException("not connected");

    private IDatabase Db => Mux.GetDatabase();

    private IServer AdminServer => Mux.GetServer("127.0.0.1", Server.Port);

    /// <summary>
    /// The options a user of a standalone server would pick. CLUSTER and SENTINEL are
    /// left out of the command map (the client then never sends them): the server does not have them yet.
    /// Remove entries from the exclusion list as the server gains those commands.
    /// </summary>
    private ConfigurationOptions ClientOptions() => new()
    {
        EndPoints = { { "127.0.0.1", Server.Port } },
        AllowAdmin = true,
        AbortOnConnectFail = true,
        ConnectTimeout = 5000,
        SyncTimeout = 5000,
        AsyncTimeout = 5000,
        ConfigurationChannel = "",
        TieBreaker = "",
        CommandMap = CommandMap.Create(
            new HashSet<string> { "CLUSTER", "SENTINEL" },
            available: false),
    };

    [OneTimeSetUp]
    public void ConnectClient()
    {
        var log = new StringWriter();
        try
        {
            _mux = ConnectionMultiplexer.Connect(ClientOptions(), log);
        }
        catch (RedisConnectionException e)
        {
            Assert.Fail($"StackExchange.Redis could not connect: {e.Message}\n--- client log ---\n{log}\n{Server.Describe()}");
        }
        _connectLog = log.ToString();
    }

    [OneTimeTearDown]
    public void DisconnectClient() => _mux?.Dispose();

    [Test]
    public void Connect_SeesAStandalonePrimary()
    {
        Assert.That(Mux.IsConnected, Is.True, _connectLog);
        Assert.That(AdminServer.IsConnected, Is.True, _connectLog);
        Assert.That(AdminServer.ServerType, Is.EqualTo(ServerType.Standalone), _connectLog);
        Assert.That(AdminServer.IsReplica, Is.False, _connectLog);
        Assert.That(AdminServer.Version, Is.GreaterThanOrEqualTo(new Version(6, 0)), "the version parsed from INFO server");
        Assert.That(AdminServer.DatabaseCount, Is.EqualTo(16), "databases, read through CONFIG GET");
    }

    [Test]
    public void Ping_Works() => Assert.That(Db.Ping(), Is.LessThan(TimeSpan.FromSeconds(5)));

    [Test]
    public void StringSetGet_RoundTrips()
    {
        Assert.That(Db.StringSet("k", "value"), Is.True);
        Assert.That((string?)Db.StringGet("k"), Is.EqualTo("value"));
        Assert.That(Db.StringGet("nokey").IsNull, Is.True);
        byte[] binary = [0, 1, 2, 13, 10, 255];
        Assert.That(Db.StringSet("bin", binary), Is.True);
        Assert.That((byte[]?)Db.StringGet("bin"), Is.EqualTo(binary));
    }

    [Test]
    public void StringSet_Conditions()
    {
        Assert.That(Db.StringSet("k", "1", when: When.NotExists), Is.True);
        Assert.That(Db.StringSet("k", "2", when: When.NotExists), Is.False);
        Assert.That(Db.StringSet("other", "2", when: When.Exists), Is.False);
        Assert.That(Db.StringSet("k", "3", when: When.Exists), Is.True);
        Assert.That((string?)Db.StringGet("k"), Is.EqualTo("3"));
        Assert.That((string?)Db.StringSetAndGet("k", "4"), Is.EqualTo("3"));
    }

    [Test]
    public void StringOperations()
    {
        Assert.That(Db.StringAppend("s", "Hello"), Is.EqualTo(5));
        Assert.That(Db.StringAppend("s", " World"), Is.EqualTo(11));
        Assert.That(Db.StringLength("s"), Is.EqualTo(11));
        Assert.That((string?)Db.StringGetRange("s", 0, 4), Is.EqualTo("Hello"));
        Assert.That((long)Db.StringSetRange("s", 6, "Redis"), Is.EqualTo(11));
        Assert.That((string?)Db.StringGetDelete("s"), Is.EqualTo("Hello Redis"));
        Assert.That(Db.KeyExists("s"), Is.False);
        Assert.That(Db.StringSet([new KeyValuePair<RedisKey, RedisValue>("a", "1"), new KeyValuePair<RedisKey, RedisValue>("b", "2")]), Is.True);
        var values = Db.StringGet(["a", "nokey", "b"]);
        Assert.That(values.Select(v => v.IsNull ? null : (string?)v), Is.EqualTo(new[] { "1", null, "2" }));
    }

    [Test]
    public void Increments()
    {
        Assert.That(Db.StringIncrement("n"), Is.EqualTo(1));
        Assert.That(Db.StringIncrement("n", 41), Is.EqualTo(42));
        Assert.That(Db.StringDecrement("n", 2), Is.EqualTo(40));
        Assert.That(Db.StringIncrement("f", 1.5), Is.EqualTo(1.5));
        Assert.That(Db.StringIncrement("f", 0.25), Is.EqualTo(1.75));
        Db.StringSet("text", "abc");
        var e = Assert.Throws<RedisServerException>(() => Db.StringIncrement("text"));
        Assert.That(e!.Message, Is.EqualTo("ERR value is not an integer or out of range"));
    }

    [Test]
    public void Expiry_SetReadAndReallyExpire()
    {
        Assert.That(Db.StringSet("k", "v", TimeSpan.FromSeconds(100)), Is.True);
        Assert.That(Db.KeyTimeToLive("k"), Is.InRange(TimeSpan.FromSeconds(98), TimeSpan.FromSeconds(100)));
        Assert.That(Db.KeyPersist("k"), Is.True);
        Assert.That(Db.KeyTimeToLive("k"), Is.Null);
        Assert.That(Db.KeyExpire("k", TimeSpan.FromMilliseconds(150)), Is.True);
        Assert.That(Db.KeyExpire("nokey", TimeSpan.FromSeconds(10)), Is.False);
        var at = DateTime.UtcNow.AddHours(1);
        Db.StringSet("later", "v");
        Assert.That(Db.KeyExpire("later", at), Is.True);
        Assert.That(Db.KeyExpireTime("later"), Is.EqualTo(at).Within(TimeSpan.FromSeconds(1)));
        Thread.Sleep(300);
        Assert.That(Db.StringGet("k").IsNull, Is.True, "the key outlived its 150 ms TTL");
        Assert.That(Db.KeyExists("k"), Is.False);
    }

    [Test]
    public void KeyDelete_AndKeyOperations()
    {
        Db.StringSet("a", "1");
        Db.StringSet("b", "2");
        Db.StringSet("c", "3");
        Assert.That(Db.KeyDelete("a"), Is.True);
        Assert.That(Db.KeyDelete("a"), Is.False);
        Assert.That(Db.KeyDelete(["b", "c", "nokey"]), Is.EqualTo(2));
        Db.StringSet("x", "v");
        Assert.That(Db.KeyRename("x", "y"), Is.True);
        Assert.That(Db.KeyType("y"), Is.EqualTo(RedisType.String));
        Assert.That(Db.KeyType("x"), Is.EqualTo(RedisType.None));
        Assert.That(Db.KeyExists(["x", "y"]), Is.EqualTo(1));
    }

    [Test]
    public void Batch_IsSentTogetherAndAllResultsArrive()
    {
        var batch = Db.CreateBatch();
        var sets = Enumerable.Range(0, 200).Select(i => batch.StringSetAsync("batch:" + i, i)).ToArray();
        var incr = batch.StringIncrementAsync("batch:counter", 5);
        var get = batch.StringGetAsync("batch:199");
        batch.Execute();
        Assert.That(Task.WaitAll([.. sets, incr, get], TimeSpan.FromSeconds(10)), Is.True, "batch results did not all arrive");
        Assert.That(sets.All(t => t.Result), Is.True);
        Assert.That(incr.Result, Is.EqualTo(5));
        Assert.That((int)get.Result, Is.EqualTo(199));
        Assert.That(AdminServer.DatabaseSize(), Is.EqualTo(201));
    }

    [Test]
    public async Task AsyncPipelining_ConcurrentIncrementsAllCount()
    {
        var tasks = Enumerable.Range(0, 5000).Select(_ => Db.StringIncrementAsync("counter")).ToArray();
        var results = await Task.WhenAll(tasks);
        Assert.That(results, Is.EquivalentTo(Enumerable.Range(1, 5000).Select(i => (long)i)), "each INCR returns a distinct count");
        Assert.That((long)await Db.StringGetAsync("counter"), Is.EqualTo(5000));
    }

    [Test]
    public void LargeValue_RoundTrips()
    {
        var value = new byte[8 * 1024 * 1024];
        new Random(7).NextBytes(value);
        Assert.That(Db.StringSet("big", value), Is.True);
        Assert.That((byte[]?)Db.StringGet("big"), Is.EqualTo(value));
    }

    [Test]
    public void OtherDatabases_AreSeparate()
    {
        Mux.GetDatabase(3).StringSet("k", "three");
        Assert.That((string?)Mux.GetDatabase(3).StringGet("k"), Is.EqualTo("three"));
        Assert.That(Db.StringGet("k").IsNull, Is.True);
        Assert.That(AdminServer.DatabaseSize(3), Is.EqualTo(1));
    }

    [Test]
    public void AdminApi_InfoConfigKeysFlushTime()
    {
        var info = AdminServer.Info("server");
        var server = info.Single(g => g.Key.Equals("Server", StringComparison.OrdinalIgnoreCase));
        Assert.That(server.Select(kv => kv.Key), Does.Contain("redis_version").And.Contain("tcp_port"));
        var config = AdminServer.ConfigGet("port");
        Assert.That(config, Has.Length.EqualTo(1));
        Assert.That(config[0].Value, Is.EqualTo(Server.Port.ToString(CultureInfo.InvariantCulture)));
        for (int i = 0; i < 300; i++)
        {
            Db.StringSet("scan:" + i, i);
        }
        Db.StringSet("other", 1);
        // IServer.Keys iterates with SCAN ... MATCH, page by page.
        var keys = AdminServer.Keys(pattern: "scan:*", pageSize: 25).Select(k => (string)k!).ToHashSet();
        Assert.That(keys, Is.EquivalentTo(Enumerable.Range(0, 300).Select(i => "scan:" + i)));
        Assert.That(AdminServer.Time(), Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromSeconds(5)));
        AdminServer.FlushDatabase();
        Assert.That(AdminServer.DatabaseSize(), Is.EqualTo(0));
    }
}
