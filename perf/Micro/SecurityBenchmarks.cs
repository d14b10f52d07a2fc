// The ACL check on the request path: GET of a present key through Dispatcher.Execute for a client of
// the default user (unrestricted: the dispatcher tests one flag) and for a client of a restricted user
// (the command bit, then the key against a pattern), on an in-process ServerState.
using BenchmarkDotNet.Attributes;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Protocol;

namespace NativeKv.Perf.Micro;

[MemoryDiagnoser]
public class AclCheck
{
    ServerState _server = null!;
    readonly ClientState _default = new();
    readonly ClientState _restricted = new();
    readonly RespWriter _reply = new();
    ParsedCommand _get = null!, _set = null!;

    [GlobalSetup]
    public void Setup()
    {
        _server = new ServerState(new ServerConfig(), startCron: false);
        _server.Acl.InitClient(_default);
        _server.Acl.InitClient(_restricted);
        if (_server.Acl.SetUser("app", ["on", ">pw", "~key:*", "%R~ro:*", "+@all", "-flushall"]) is { } err)
            throw new InvalidOperationException(err);
        if (!NativeKv.Engine.Security.Auth.TryAuthenticate(_server, _restricted, "app", "pw"u8, out _) || !_restricted.Restricted)
            throw new InvalidOperationException("setup: the restricted client did not log in");
        _set = new ParsedCommand("SET", Resp.Key("key:", 42), Resp.Value(16));
        _get = new ParsedCommand("GET", Resp.Key("key:", 42));
        Run(_default, _set);
        if (Run(_restricted, _get) != 16 + 5 + 2) throw new InvalidOperationException("setup: GET as the restricted user failed");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _get.Dispose();
        _set.Dispose();
        _reply.Dispose();
        _server.Dispose();
    }

    int Run(ClientState client, ParsedCommand cmd)
    {
        _reply.Clear();
        var c = new CommandContext(_server, client, _reply, cmd.Args);
        Dispatcher.Execute(ref c);
        return _reply.Length;
    }

    [Benchmark(Baseline = true)] public int GetDefaultUser() => Run(_default, _get);
    [Benchmark] public int GetRestrictedUser() => Run(_restricted, _get);
    [Benchmark] public int SetDefaultUser() => Run(_default, _set);
    [Benchmark] public int SetRestrictedUser() => Run(_restricted, _set);
}
