// Redis's own command-line tools (Debian package redis-tools) against the server: redis-cli with
// arguments, through stdin, with -x and --pipe mass insertion, and a redis-benchmark smoke run that must
// get every request answered. Results are also checked through a raw connection.
using System.Text;
using System.Text.RegularExpressions;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed partial class RedisToolsTests : ServerFixture
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);

    private ProcessResult CliWithInput(string? stdin, params string[] args)
    {
        TestTarget.RequireTool(TestTarget.RedisCli, "redis-tools");
        var result = ProcessRunner.Run(TestTarget.RedisCli, ["-h", "127.0.0.1", "-p", Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args], stdin, ToolTimeout);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        return result;
    }

    private ProcessResult Cli(params string[] args) => CliWithInput(null, args);

    [Test]
    public void Cli_CommandArguments_RawOutputWhenNotATerminal()
    {
        Assert.That(Cli("SET", "k", "v").StdOut, Is.EqualTo("OK\n"));
        Assert.That(Cli("GET", "k").StdOut, Is.EqualTo("v\n"));
        Assert.That(Cli("GET", "nokey").StdOut, Is.EqualTo("\n"));
        Assert.That(Cli("INCR", "n").StdOut, Is.EqualTo("1\n"));
        Assert.That(Cli("PING").StdOut, Is.EqualTo("PONG\n"));
        Assert.That(Cli("SET", "spaced key", "a value with spaces").StdOut, Is.EqualTo("OK\n"));
        RespAssert.IsBulk(Call("GET", "spaced key"), "a value with spaces");
    }

    [Test]
    public void Cli_NoRaw_FormatsReplyTypes()
    {
        RespAssert.IsOk(Call("MSET", "k", "v", "n", "5"));
        Assert.That(Cli("--no-raw", "GET", "k").StdOut, Is.EqualTo("\"v\"\n"));
        Assert.That(Cli("--no-raw", "GET", "nokey").StdOut, Is.EqualTo("(nil)\n"));
        Assert.That(Cli("--no-raw", "INCR", "n").StdOut, Is.EqualTo("(integer) 6\n"));
        Assert.That(Cli("--no-raw", "MGET", "k", "nokey").StdOut, Is.EqualTo("1) \"v\"\n2) (nil)\n"));
        Assert.That(Cli("--no-raw", "INCR", "k").StdOut, Is.EqualTo("(error) ERR value is not an integer or out of range\n"));
    }

    [Test]
    public void Cli_CommandsPipedThroughStdin()
    {
        var result = CliWithInput("SET a 1\nINCR a\nINCRBY a 10\nGET a\nGET nokey\nFOO bar\n");
        var lines = result.StdOut.Split('\n');
        Assert.That(lines.Take(5), Is.EqualTo(new[] { "OK", "2", "12", "12", "" }), result.ToString());
        Assert.That(lines[5], Is.EqualTo("ERR unknown command 'FOO', with args beginning with: 'bar' "), result.ToString());
        RespAssert.IsBulk(Call("GET", "a"), "12");
    }

    [Test]
    public void Cli_DatabaseOption_SelectsTheDatabase()
    {
        Assert.That(Cli("-n", "3", "SET", "k", "three").StdOut, Is.EqualTo("OK\n"));
        Assert.That(Cli("-n", "3", "GET", "k").StdOut, Is.EqualTo("three\n"));
        Assert.That(Cli("GET", "k").StdOut, Is.EqualTo("\n"));
        Assert.That(Cli("-n", "3", "DBSIZE").StdOut, Is.EqualTo("1\n"));
    }

    [Test]
    public void Cli_X_TakesLastArgumentFromStdin()
    {
        Assert.That(CliWithInput("line one\nline two\n", "-x", "SET", "k").StdOut, Is.EqualTo("OK\n"));
        RespAssert.IsBulk(Call("GET", "k"), "line one\nline two\n");
    }

    [Test]
    public void Cli_Pipe_MassInsertion()
    {
        const int Count = 5000;
        var input = new StringBuilder();
        for (int i = 0; i < Count; i++)
        {
            input.Append(Encoding.ASCII.GetString(RawClient.Encode("SET", "mass:" + i, "value" + i)));
        }
        var result = CliWithInput(input.ToString(), "--pipe");
        Assert.That(result.StdOut, Does.Contain($"errors: 0, replies: {Count}"), result.ToString());
        RespAssert.IsInteger(Call("DBSIZE"), Count);
        RespAssert.IsBulk(Call("GET", "mass:4321"), "value4321");
    }

    [GeneratedRegex(@"^(?<name>[A-Z_]+(?: \(\d+ keys\))?): (?<rps>[\d.]+) requests per second", RegexOptions.Multiline)]
    private static partial Regex RpsLine();

    [Test]
    public void Benchmark_Smoke_EveryRequestAnswered()
    {
        TestTarget.RequireTool(TestTarget.RedisBenchmark, "redis-tools");
        const int Requests = 20_000;
        var result = ProcessRunner.Run(
            TestTarget.RedisBenchmark,
            ["-h", "127.0.0.1", "-p", Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "ping,set,get,incr,mset", "-n", Requests.ToString(System.Globalization.CultureInfo.InvariantCulture), "-q"],
            stdin: null,
            TimeSpan.FromSeconds(120));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        // -q prints progress with '\r' and a final line per test.
        string output = result.StdOut.Replace('\r', '\n');
        var rates = RpsLine().Matches(output).ToDictionary(m => m.Groups["name"].Value, m => double.Parse(m.Groups["rps"].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.That(rates.Keys, Is.EquivalentTo(new[] { "PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)" }), result.ToString());
        Assert.That(rates.Values, Has.All.GreaterThan(0), result.ToString());
        Assert.That(output, Does.Not.Contain("rror"), result.ToString());
        // Without -r every INCR hits the same key, so the server must have counted all of them.
        RespAssert.IsBulk(Call("GET", "counter:__rand_int__"), Requests.ToString(System.Globalization.CultureInfo.InvariantCulture));
        RespAssert.IsInteger(Call("STRLEN", "key:__rand_int__"), 3); // -d default: 3-byte values
        TestContext.Out.WriteLine(string.Join("; ", rates.Select(kv => $"{kv.Key} {kv.Value:0} rps")));
    }
}
