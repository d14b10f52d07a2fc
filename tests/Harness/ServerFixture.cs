// Base class of the integration fixtures: one server process per test class (started once), a fresh
// connection per test, and an empty keyspace at the start of every test. Tests inside one class run one
// at a time (they share the server); different classes run in parallel (see AssemblyInfo.cs).
using NUnit.Framework;

namespace NativeKv.Tests.Harness;

[Category(TestTarget.Integration)]
public abstract class ServerFixture
{
    private ServerProcess? _server;
    private RawClient? _client;

    /// <summary>The server shared by the tests of this class.</summary>
    protected ServerProcess Server => _server ?? throw new InvalidOperationException("server not started");

    /// <summary>A connection opened for the current test (database 0, keyspace flushed).</summary>
    protected RawClient Client => _client ?? throw new InvalidOperationException("client not connected");

    /// <summary>Options for this fixture's server; override to add arguments.</summary>
    protected virtual ServerOptions Options => new();

    /// <summary>The default user's password when the fixture's server has requirepass: each test's
    /// connection (and <see cref="NewAuthenticatedClient"/>) sends AUTH with it first.</summary>
    protected virtual string? Password => null;

    [OneTimeSetUp]
    public void StartServer() => _server = ServerProcess.Start(Options);

    [OneTimeTearDown]
    public void StopServer()
    {
        _server?.Dispose();
        _server = null;
    }

    [SetUp]
    public void ConnectAndFlush()
    {
        if (_server is { HasExited: true })
        {
            // A previous test crashed the server: say so, and give the following tests a fresh one.
            TestContext.Progress.WriteLine($"[{GetType().Name}] server had exited; restarting.\n{_server.Describe()}");
            _server.Dispose();
            _server = ServerProcess.Start(Options);
        }
        _client = NewAuthenticatedClient();
        RespAssert.IsOk(_client.Call("FLUSHALL"));
    }

    [TearDown]
    public void Disconnect()
    {
        _client?.Dispose();
        _client = null;
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed && _server is not null)
        {
            string output = _server.Output;
            TestContext.Out.WriteLine($"server {(_server.HasExited ? "EXITED" : "running")}; last output:\n"
                + (output.Length > 3000 ? output[^3000..] : output));
        }
    }

    /// <summary>Sends a command on this test's connection and returns its reply.</summary>
    protected RespValue Call(params string[] args) => Client.Call(args);

    /// <summary>Opens another connection to this fixture's server; the caller disposes it.</summary>
    protected RawClient NewClient() => Server.Connect();

    /// <summary>Opens a connection that has sent AUTH with <see cref="Password"/> (when set).</summary>
    protected RawClient NewAuthenticatedClient()
    {
        var client = Server.Connect();
        if (Password is not null)
        {
            RespAssert.IsOk(client.Call("AUTH", Password));
        }
        return client;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    internal static bool Eventually(Func<bool> condition, TimeSpan timeout, int pollMs = 20)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (condition())
            {
                return true;
            }
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }
            Thread.Sleep(pollMs);
        }
    }
}
