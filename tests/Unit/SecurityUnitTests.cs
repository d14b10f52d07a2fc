// Unit tests of the security pieces that need no server process: the protected-mode decision (for
// machines without a non-loopback address the integration tests cannot use), ACL rule parsing and the
// command-rule description rebuilt from the bitmap, and the parser's limits before AUTH.
using System.Net;
using System.Text;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Protocol;
using NativeKv.Engine.Security;
using NUnit.Framework;

namespace NativeKv.Tests.Unit;

public sealed class SecurityUnitTests
{
    private static AclUser User(params string[] rules)
    {
        var u = new AclUser("u");
        foreach (var r in rules)
        {
            Assert.That(u.ApplyRule(r, false), Is.Null, r);
        }
        u.UpdateUnrestricted();
        return u;
    }

    [Test]
    public void ProtectedMode_DeniesOnlyNonLoopbackWithoutPassword()
    {
        var open = User("on", "nopass", "~*", "&*", "+@all");
        var locked = User("on", ">pw", "~*", "&*", "+@all");
        Assert.That(ProtectedMode.Denies(true, open, IPAddress.Parse("192.0.2.7")), Is.True);
        Assert.That(ProtectedMode.Denies(true, open, IPAddress.Parse("fd00::2")), Is.True);
        Assert.That(ProtectedMode.Denies(true, open, IPAddress.Parse("127.0.0.1")), Is.False);
        Assert.That(ProtectedMode.Denies(true, open, IPAddress.Parse("127.3.4.5")), Is.False);
        Assert.That(ProtectedMode.Denies(true, open, IPAddress.IPv6Loopback), Is.False);
        Assert.That(ProtectedMode.Denies(true, open, IPAddress.Parse("::ffff:127.0.0.1")), Is.False);
        Assert.That(ProtectedMode.Denies(true, open, IPAddress.Parse("::ffff:10.1.2.3")), Is.True);
        Assert.That(ProtectedMode.Denies(false, open, IPAddress.Parse("192.0.2.7")), Is.False);
        Assert.That(ProtectedMode.Denies(true, locked, IPAddress.Parse("192.0.2.7")), Is.False);
    }

    [Test]
    public void DefaultLikeUser_IsUnrestricted_AnyRestrictionIsNot()
    {
        Assert.That(User("+@all", "~*", "&*").Unrestricted, Is.True);
        Assert.That(User("+@all", "~*", "&*", "-get").Unrestricted, Is.False);
        Assert.That(User("+@all", "~k*", "&*").Unrestricted, Is.False);
        Assert.That(User("+@all", "~*").Unrestricted, Is.False);
    }

    [TestCase(new[] { "+@all" }, "+@all")]
    [TestCase(new[] { "+get", "+set" }, "-@all +get +set")]
    [TestCase(new[] { "+@hash", "-hgetall" }, "-@all +@hash -hgetall")]
    [TestCase(new[] { "+@all", "-flushall" }, "+@all -flushall")]
    [TestCase(new[] { "+config|get" }, "-@all +config|get")]
    [TestCase(new[] { "+config", "-config|set" }, "-@all +config -config|set")]
    [TestCase(new string[0], "-@all")]
    public void DescribeCommands_RebuildsRules(string[] rules, string expected)
    {
        var u = User(rules);
        Assert.That(u.DescribeCommands(), Is.EqualTo(expected));
        // Applying the description to a fresh user gives the same bitmap.
        var again = User(expected.Split(' '));
        Assert.That(again.Allowed, Is.EqualTo(u.Allowed));
    }

    [Test]
    public void DescribeCommands_RandomRuleSets_RoundTrip()
    {
        string[] pool =
        [
            "+@all", "-@all", "+@read", "-@read", "+@write", "-@write", "+@hash", "-@string", "+@dangerous", "-@admin",
            "+@fast", "-@slow", "+@keyspace", "+@scripting", "+@connection", "+get", "-get", "+set", "-flushall",
            "+config", "-config|set", "+config|get", "+acl|whoami", "-acl", "+client|info", "-@list", "+lpush", "+@blocking",
        ];
        var random = new Random(42);
        for (int i = 0; i < 500; i++)
        {
            var rules = Enumerable.Range(0, random.Next(1, 8)).Select(_ => pool[random.Next(pool.Length)]).ToArray();
            var u = User(rules);
            string described = u.DescribeCommands();
            var again = User(described.Split(' '));
            Assert.That(again.Allowed, Is.EqualTo(u.Allowed), $"{string.Join(' ', rules)} -> {described}");
        }
    }

    [Test]
    public void KeyPatterns_ReadWrite()
    {
        var u = User("%R~r*", "%W~w*", "~both");
        Assert.That(u.CanAccessKey("r1"u8, KeyPermission.Read), Is.True);
        Assert.That(u.CanAccessKey("r1"u8, KeyPermission.Write), Is.False);
        Assert.That(u.CanAccessKey("w1"u8, KeyPermission.Write), Is.True);
        Assert.That(u.CanAccessKey("w1"u8, KeyPermission.Read), Is.False);
        Assert.That(u.CanAccessKey("both"u8, KeyPermission.All), Is.True);
        Assert.That(u.DescribeKeys(), Is.EqualTo("%R~r* %W~w* ~both"));
    }

    [Test]
    public void Channels_LiteralsMatchPatterns_PatternsMustBeEqual()
    {
        var u = User("&news.*");
        Assert.That(u.CanAccessChannel("news.sport"u8, isPattern: false), Is.True);
        Assert.That(u.CanAccessChannel("other"u8, isPattern: false), Is.False);
        Assert.That(u.CanAccessChannel("news.*"u8, isPattern: true), Is.True);
        Assert.That(u.CanAccessChannel("news.s*"u8, isPattern: true), Is.False);
    }

    [Test]
    public void Check_UsesTheCommandsKeys()
    {
        var u = User("+mset", "~a*");
        var cmd = CommandTable.LookupOriginal("mset"u8)!;
        using var args = Args("MSET", "a1", "v", "a2", "v");
        Assert.That(Acl.Check(u, cmd, args, 0, out _), Is.EqualTo(AclDenial.None));
        using var bad = Args("MSET", "a1", "v", "b2", "v");
        Assert.That(Acl.Check(u, cmd, bad, 0, out int errorArg), Is.EqualTo(AclDenial.Key));
        Assert.That(errorArg, Is.EqualTo(3), "the offending key's argument");
        Assert.That(Acl.Check(u, CommandTable.LookupOriginal("get"u8)!, Args("GET", "a"), 0, out _), Is.EqualTo(AclDenial.Command));
    }

    [Test]
    public unsafe void Check_ChannelArguments_OfPubSubRows()
    {
        // PUBLISH/SUBSCRIBE rows come with the Pub/Sub work; their channel arguments are found by name.
        Assert.That(Acl.ChannelArgsOf("publish"), Is.EqualTo(ChannelArgs.First));
        Assert.That(Acl.ChannelArgsOf("subscribe"), Is.EqualTo(ChannelArgs.All));
        Assert.That(Acl.ChannelArgsOf("psubscribe"), Is.EqualTo(ChannelArgs.AllPatterns));
        var get = CommandTable.LookupOriginal("get"u8)!;
        var publish = new CommandDef("publish", 3, CommandFlags.PubSub | CommandFlags.Fast, 0, 0, 0, null, "pubsub", "") { Id = get.Id, ChannelArgs = ChannelArgs.First };
        var psubscribe = new CommandDef("psubscribe", -2, CommandFlags.PubSub, 0, 0, 0, null, "pubsub", "") { Id = get.Id, ChannelArgs = ChannelArgs.AllPatterns };
        var u = User("+get", "&news.*");
        Assert.That(Acl.Check(u, publish, Args("PUBLISH", "news.a", "hi"), 0, out _), Is.EqualTo(AclDenial.None));
        Assert.That(Acl.Check(u, publish, Args("PUBLISH", "other", "hi"), 0, out int arg), Is.EqualTo(AclDenial.Channel));
        Assert.That(arg, Is.EqualTo(1));
        Assert.That(Acl.Check(u, psubscribe, Args("PSUBSCRIBE", "news.*"), 0, out _), Is.EqualTo(AclDenial.None));
        Assert.That(Acl.Check(u, psubscribe, Args("PSUBSCRIBE", "news.*", "n*"), 0, out arg), Is.EqualTo(AclDenial.Channel));
        Assert.That(arg, Is.EqualTo(2));
    }

    private static unsafe ArgList Args(params string[] words)
    {
        var args = new ArgList();
        var bytes = Encoding.UTF8.GetBytes(string.Concat(words));
        var mem = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(1, bytes.Length));
        bytes.CopyTo(new Span<byte>(mem, bytes.Length));
        args.Base = mem; // leaked on purpose: a few bytes per test
        int offset = 0;
        foreach (var w in words)
        {
            args.Add(offset, Encoding.UTF8.GetByteCount(w));
            offset += Encoding.UTF8.GetByteCount(w);
        }
        return args;
    }

    [Test]
    public unsafe void Parser_UnauthenticatedLimits()
    {
        static (ParseStatus, string?) Parse(string input, bool unauthenticated)
        {
            var parser = new RespParser();
            using var args = new ArgList();
            var bytes = Encoding.ASCII.GetBytes(input);
            fixed (byte* p = bytes)
            {
                var st = parser.Parse(p, bytes.Length, args, 512L * 1024 * 1024, unauthenticated, out _);
                return (st, parser.Error);
            }
        }
        string eleven = "*11\r\n" + string.Concat(Enumerable.Repeat("$1\r\na\r\n", 11));
        Assert.That(Parse(eleven, true), Is.EqualTo((ParseStatus.Error, "ERR Protocol error: unauthenticated multibulk length")));
        Assert.That(Parse(eleven, false).Item1, Is.EqualTo(ParseStatus.Complete));
        Assert.That(Parse("*2\r\n$3\r\nGET\r\n$16385\r\n", true), Is.EqualTo((ParseStatus.Error, "ERR Protocol error: unauthenticated bulk length")));
        Assert.That(Parse("*2\r\n$3\r\nGET\r\n$16384\r\n", true).Item1, Is.EqualTo(ParseStatus.Incomplete));
    }
}
