// The ACL check costs no GC allocation: a client logged in as a restricted user (command bitmap, key
// patterns with read/write permissions) runs its allowed commands, parsed and dispatched in process as a
// connection does, without the thread's allocated bytes moving. (Unrestricted clients skip the check.)
using System.Text;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Protocol;
using NUnit.Framework;
using NativeKv.Tests.Harness;

namespace NativeKv.Tests.Unit;

[TestFixture]
public sealed unsafe class AclAllocationTests
{
    [Test]
    public void RestrictedUser_AllowedCommands_DoNotAllocate()
    {
        using var server = new ServerState(new ServerConfig { SlowlogLogSlowerThan = -1 }, startCron: false);
        using var reply = new RespWriter(1 << 16);
        using var args = new ArgList();
        Assert.That(server.Acl.SetUser("app", ["on", ">pw", "~app:*", "%R~ro:*", "+@all", "-flushall"]), Is.Null);
        var client = new ClientState { Reply = reply };
        server.Acl.InitClient(client);
        Assert.That(NativeKv.Engine.Security.Auth.TryAuthenticate(server, client, "app", "pw"u8, out _), Is.True);
        Assert.That(client.Restricted, Is.True);

        void Run(byte[] command)
        {
            fixed (byte* p = command)
            {
                var parser = new RespParser();
                if (parser.Parse(p, command.Length, args, 512L * 1024 * 1024, out _) != ParseStatus.Complete) throw new AssertionException("parse");
                var ctx = new CommandContext(server, client, reply, args);
                Dispatcher.Execute(ref ctx);
            }
        }
        static byte[] Encode(params string[] a)
        {
            var sb = new StringBuilder().Append('*').Append(a.Length).Append("\r\n");
            foreach (var s in a) sb.Append('$').Append(Encoding.UTF8.GetByteCount(s)).Append("\r\n").Append(s).Append("\r\n");
            return Encoding.UTF8.GetBytes(sb.ToString());
        }
        byte[][] commands =
        [
            Encode("SET", "app:1", "v"), Encode("GET", "app:1"), Encode("GET", "ro:1"), Encode("INCR", "app:n"),
            Encode("MGET", "app:1", "ro:2", "app:3"), Encode("LPUSH", "app:l", "a"), Encode("LPOP", "app:l"),
            Encode("EXISTS", "ro:1"), Encode("PING"),
        ];
        foreach (var c in commands) Run(c);
        Assert.That(Encoding.ASCII.GetString(reply.Written), Does.Not.Contain("NOPERM"));
        reply.Clear();
        var offenders = new List<string>();
        foreach (var c in commands)
        {
            long allocated = AllocationProbe.Measure(() =>
            {
                for (int i = 0; i < 20; i++)
                {
                    Run(c);
                    reply.Clear();
                }
            });
            if (allocated != 0) offenders.Add($"{Encoding.UTF8.GetString(c).Replace("\r\n", " ")} allocated {allocated} bytes in 20 runs");
        }
        Assert.That(offenders, Is.Empty);
    }
}
