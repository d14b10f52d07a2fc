// A real redis-server next to the server under test, for differential tests: started once per fixture,
// and the helpers that turn replies and commands into comparable, printable text.
using System.Globalization;
using NUnit.Framework;

namespace NativeKv.Tests.Harness;

/// <summary>A fixture whose tests compare the server under test with a redis-server started for it.</summary>
public abstract class RedisReferenceFixture : ServerFixture
{
    private const string RedisServer = "/usr/bin/redis-server";

    private ServerProcess? _reference;

    /// <summary>The running reference server.</summary>
    protected ServerProcess Reference => _reference ?? throw new InvalidOperationException("redis-server not started");

    [OneTimeSetUp]
    public void StartReference()
    {
        TestTarget.RequireTool(RedisServer, "redis-server");
        _reference = ServerProcess.Start(new ServerOptions { Binary = RedisServer });
    }

    [OneTimeTearDown]
    public void StopReference() => _reference?.Dispose();
}

public static class ReplyText
{
    /// <summary>A reply as exact text: its type and every byte (binary values in hex).</summary>
    public static string Canon(RespValue v) => v.Type switch
    {
        RespType.SimpleString => "+" + v.Text,
        RespType.Error => "-" + v.Text,
        RespType.Integer => ":" + v.Integer.ToString(CultureInfo.InvariantCulture),
        RespType.BulkString => v.Bytes is null ? "$nil" : "$" + Convert.ToHexString(v.Bytes),
        _ => v.Items is null ? "*nil" : "[" + string.Join(",", v.Items.Select(Canon)) + "]",
    };

    /// <summary>A command for a failure message, long arguments shortened.</summary>
    public static string Describe(string[] cmd) =>
        string.Join(' ', cmd.Select(a => a.Length > 40 ? $"\"{a[..10]}...\"({a.Length})" : $"\"{a}\""));

    public static string Shorten(string s) => s.Length > 400 ? s[..400] + $"...({s.Length} chars)" : s;
}
