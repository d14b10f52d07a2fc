// The input side of the protocol fuzzer: a seeded, reproducible generator of RESP requests. It makes
// valid commands from NativeKv's command table with random arguments (keys from a small pool so that
// commands meet each other's values, numbers at the edges, option words, binary strings), encodes them
// as multibulk or inline, and mutates some of them: bit flips, truncations, inserted and deleted bytes,
// length fields replaced by huge, negative or malformed numbers, nested array headers, raw random bytes,
// oversized inline lines. FuzzTests drives it against a live server.
using System.Globalization;
using System.Text;
using NativeKv.Engine.Commands;

namespace NativeKv.Tests.Fuzz;

public sealed class RespFuzzer
{
    /// <summary>
    /// Commands the fuzzer never sends: they stop or reconfigure the server (SHUTDOWN, CONFIG, DEBUG,
    /// ACL, CLIENT PAUSE/KILL), reach other hosts (REPLICAOF, MIGRATE), flood one connection with
    /// everyone's traffic (MONITOR), or write snapshots (SAVE and friends: slow, and not what is tested);
    /// HELLO would switch the connection to RESP3 replies the fuzzer does not parse, and WAIT with
    /// replicas to wait for and timeout 0 blocks forever (no replica ever acknowledges).
    /// </summary>
    public static readonly HashSet<string> Excluded = new(StringComparer.OrdinalIgnoreCase)
    {
        "shutdown", "config", "debug", "acl", "client", "monitor", "replicaof", "slaveof", "migrate", "sync", "psync",
        "failover", "module", "save", "bgsave", "bgrewriteaof", "cluster", "readonly", "readwrite", "quit", "reset",
        "hello", "wait",
    };

    /// <summary>Commands whose negative count means "that many replies, repeats allowed": Redis answers
    /// SRANDMEMBER k -2000000000 with two billion elements too. Their counts stay small.</summary>
    static readonly HashSet<string> ReplyAmplifiers = new(StringComparer.OrdinalIgnoreCase) { "srandmember", "hrandfield", "zrandmember" };

    /// <summary>Commands that grow a value to the size an argument names: SETBIT k 2147483647 1 makes a
    /// 256 MB string, in Redis too, and a few of them would pass the fuzz run's RSS limit. Their numbers
    /// stay under a million.</summary>
    static readonly HashSet<string> SizeAmplifiers = new(StringComparer.OrdinalIgnoreCase) { "setbit", "bitfield" };

    static readonly string[] Numbers =
    [
        "0", "1", "-1", "2", "3", "5", "10", "100", "-100", "1000", "2147483647", "-2147483648", "2147483648",
        "4294967296", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
        "1.5", "-0", "0.0", "inf", "-inf", "+inf", "nan", "1e3", "1e308", "1e309", "0x10", "", " 1", "1 ", "01", "+1", "3.", ".5",
    ];

    static readonly string[] Words =
    [
        "EX", "PX", "EXAT", "PXAT", "NX", "XX", "GT", "LT", "CH", "INCR", "KEEPTTL", "GET", "PERSIST", "WITHSCORES", "LIMIT",
        "BYSCORE", "BYLEX", "REV", "COUNT", "MATCH", "TYPE", "LEFT", "RIGHT", "BEFORE", "AFTER", "WEIGHTS", "AGGREGATE",
        "SUM", "MIN", "MAX", "WITHVALUES", "RANK", "MAXLEN", "IDLETIME", "FREQ", "REPLACE", "ABSTTL", "DB", "ASYNC", "SYNC",
        "(1", "[a", "-", "+", "*", "h*llo", "[a-", "\\", "string", "list", "hash", "set", "zset", "FLUSH", "LOAD", "EXISTS",
        "KILL", "HELP", "STATS", "USAGE", "ENCODING", "REFCOUNT", "INFO", "DOCS", "LIST", "GETKEYS", "SAMPLES", "FILTERBY",
    ];

    static readonly string[] Scripts =
    [
        "return 1", "return redis.call('GET', KEYS[1])", "return redis.pcall('INCR', KEYS[1])", "return {1, 2, {3, 'x'}, false}",
        "return redis.call('LPUSH', KEYS[1], ARGV[1])", "return redis.error_reply('E')", "error('boom')", "return #KEYS + #ARGV",
        "local t = {} for i = 1, 100 do t[i] = i end return t", "return redis.call('nosuchcommand')", "return cjson.encode({a = 1})",
        "#!lua flags=no-writes\nreturn 1", "return tostring(tonumber(ARGV[1]))", "return struct.pack('>I2', 10)",
    ];

    readonly Random _rng;
    readonly CommandDef[] _commands;
    readonly string[] _keys;

    public RespFuzzer(int seed)
    {
        _rng = new Random(seed);
        _commands = CommandTable.AllWithSubcommands
            .Where(c => c.Subcommands == null)
            .Where(c => !Excluded.Contains(c.Parent?.Name ?? c.Name))
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ToArray();
        _keys = Enumerable.Range(0, 16).Select(i => "fz" + i.ToString(CultureInfo.InvariantCulture)).Append("{fz}x").Append("").ToArray();
    }

    public int CommandCount => _commands.Length;

    public Random Rng => _rng;

    // ---- valid commands ----

    static readonly string[] ScriptWrappers =
    [
        "return redis.call(unpack(ARGV))",
        "return redis.pcall(unpack(ARGV))",
        "local r = redis.pcall(unpack(ARGV)) redis.call('INCR', KEYS[1]) return r",
        "redis.call('SET', KEYS[1], 'x') return redis.call(unpack(ARGV))",
    ];

    /// <summary>A command from the table with random arguments, as argument strings; now and then the
    /// same run from a script (EVAL with the command in ARGV): the script path, its undo log and its
    /// lock retries see the same random arguments.</summary>
    public List<byte[]> ValidCommand()
    {
        if (_rng.Next(30) == 0)
        {
            var inner = PlainCommand();
            var eval = new List<byte[]> { Ascii("EVAL"), Ascii(ScriptWrappers[_rng.Next(ScriptWrappers.Length)]), Ascii("1"), Ascii(_keys[_rng.Next(_keys.Length)]) };
            eval.AddRange(inner);
            return eval;
        }
        return PlainCommand();
    }

    List<byte[]> PlainCommand()
    {
        var cmd = _commands[_rng.Next(_commands.Length)];
        var args = new List<byte[]>();
        if (cmd.Parent != null)
        {
            args.Add(Ascii(cmd.Parent.Name.ToUpperInvariant()));
            args.Add(Ascii(cmd.ShortName));
        }
        else
        {
            args.Add(Ascii(_rng.Next(4) == 0 ? cmd.Name : cmd.Name.ToUpperInvariant()));
        }
        int arity = cmd.Arity;
        int total = arity > 0 ? arity : -arity + _rng.Next(5);
        if (_rng.Next(20) == 0)
        {
            total += _rng.Next(3) - 1; // the wrong number of arguments, now and then
        }
        bool amplifier = ReplyAmplifiers.Contains(cmd.Name);
        bool sizeAmplifier = SizeAmplifiers.Contains(cmd.Name);
        bool script = cmd.Name is "eval" or "eval_ro" or "function|load";
        for (int i = args.Count; i < total; i++)
        {
            if (script && i == args.Count && _rng.Next(2) == 0)
            {
                args.Add(Encoding.UTF8.GetBytes(Scripts[_rng.Next(Scripts.Length)]));
            }
            else if (IsKeyPosition(cmd, i, total))
            {
                args.Add(Ascii(_keys[_rng.Next(_keys.Length)]));
            }
            else if (amplifier)
            {
                args.Add(Ascii((_rng.Next(41) - 20).ToString(CultureInfo.InvariantCulture)));
            }
            else
            {
                var a = RandomArgument();
                if (sizeAmplifier && long.TryParse(Encoding.ASCII.GetString(a), NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) && Math.Abs((double)n) > 1_000_000)
                {
                    a = Ascii(_rng.Next(1_000_000).ToString(CultureInfo.InvariantCulture));
                }
                args.Add(a);
            }
        }
        return args;
    }

    static bool IsKeyPosition(CommandDef cmd, int i, int total)
    {
        if (cmd.FirstKey <= 0 || i < cmd.FirstKey)
        {
            return false;
        }
        int last = cmd.LastKey < 0 ? total + cmd.LastKey : cmd.LastKey;
        return i <= last && (i - cmd.FirstKey) % Math.Max(1, cmd.KeyStep) == 0;
    }

    byte[] RandomArgument()
    {
        int r = _rng.Next(100);
        if (r < 30)
        {
            return Ascii(Numbers[_rng.Next(Numbers.Length)]);
        }
        if (r < 50)
        {
            return Ascii((_rng.Next(201) - 50).ToString(CultureInfo.InvariantCulture));
        }
        if (r < 55)
        {
            return Ascii((_rng.NextDouble() * 200 - 100).ToString("R", CultureInfo.InvariantCulture));
        }
        if (r < 78)
        {
            return Ascii(Words[_rng.Next(Words.Length)]);
        }
        if (r < 88)
        {
            return Ascii(_keys[_rng.Next(_keys.Length)]);
        }
        if (r < 99)
        {
            return RandomBytes(_rng.Next(33));
        }
        // Now and then a larger value (up to 64 KiB): buffers grow and shrink.
        var big = new byte[_rng.Next(4096, 65536)];
        big.AsSpan().Fill((byte)('a' + _rng.Next(26)));
        return big;
    }

    byte[] RandomBytes(int n)
    {
        var b = new byte[n];
        _rng.NextBytes(b);
        return b;
    }

    static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    // ---- encodings ----

    public static byte[] Multibulk(List<byte[]> args)
    {
        var ms = new MemoryStream();
        ms.Write(Ascii("*" + args.Count.ToString(CultureInfo.InvariantCulture) + "\r\n"));
        foreach (var a in args)
        {
            ms.Write(Ascii("$" + a.Length.ToString(CultureInfo.InvariantCulture) + "\r\n"));
            ms.Write(a);
            ms.Write("\r\n"u8);
        }
        return ms.ToArray();
    }

    /// <summary>The inline form: words separated by spaces, double-quoted with escapes when needed.</summary>
    public static byte[] Inline(List<byte[]> args)
    {
        var sb = new StringBuilder();
        foreach (var a in args)
        {
            if (sb.Length > 0)
            {
                sb.Append(' ');
            }
            bool plain = a.Length > 0 && a.All(b => b > 32 && b < 127 && b != '"' && b != '\'' && b != '\\');
            if (plain)
            {
                sb.Append(Encoding.ASCII.GetString(a));
                continue;
            }
            sb.Append('"');
            foreach (byte b in a)
            {
                if (b >= 32 && b < 127 && b != '"' && b != '\\')
                {
                    sb.Append((char)b);
                }
                else
                {
                    sb.Append("\\x").Append(b.ToString("x2", CultureInfo.InvariantCulture));
                }
            }
            sb.Append('"');
        }
        sb.Append("\r\n");
        return Ascii(sb.ToString());
    }

    // ---- inputs ----

    /// <summary>A valid command with random arguments, as multibulk (mostly) or inline.</summary>
    public byte[] NextValid()
    {
        var args = ValidCommand();
        return _rng.Next(10) == 0 ? Inline(args) : Multibulk(args);
    }

    /// <summary>One hostile input: a mutated command, raw random bytes, or an oversized inline line.</summary>
    public byte[] NextHostile()
    {
        int r = _rng.Next(100);
        if (r < 8)
        {
            return RandomBytes(_rng.Next(1, 200));
        }
        if (r < 10)
        {
            // An inline line longer than Redis's 64 KiB limit, or just under it, without a newline yet.
            var line = new byte[_rng.Next(2) == 0 ? 70 * 1024 : 60 * 1024];
            line.AsSpan().Fill((byte)'a');
            return line;
        }
        return Mutate(NextValid());
    }

    static readonly string[] BadLengths =
    [
        "-1", "-2", "-9999999999", "99999999999999999999999", "536870913", "536870912", "2147483648", "4294967297", "0", "",
        "abc", "1 2", "+5", "05", "-0", "9223372036854775807", "1\n", "\r",
    ];

    public byte[] Mutate(byte[] input)
    {
        var b = new List<byte>(input);
        int rounds = 1 + _rng.Next(3);
        for (int n = 0; n < rounds && b.Count > 0; n++)
        {
            switch (_rng.Next(9))
            {
                case 0: // bit flips
                    for (int i = 0, k = 1 + _rng.Next(3); i < k; i++)
                    {
                        int p = _rng.Next(b.Count);
                        b[p] ^= (byte)(1 << _rng.Next(8));
                    }
                    break;
                case 1: // truncation: the command never completes
                {
                    int p = _rng.Next(b.Count);
                    b.RemoveRange(p, b.Count - p);
                    break;
                }
                case 2: // inserted random bytes
                    b.InsertRange(_rng.Next(b.Count + 1), RandomBytes(1 + _rng.Next(8)));
                    break;
                case 3: // a deleted range
                {
                    int p = _rng.Next(b.Count);
                    b.RemoveRange(p, Math.Min(b.Count - p, 1 + _rng.Next(8)));
                    break;
                }
                case 4: // a length field replaced (huge, negative, malformed)
                case 5:
                {
                    var marks = Enumerable.Range(0, b.Count).Where(i => b[i] == '$' || b[i] == '*').ToList();
                    if (marks.Count == 0)
                    {
                        break;
                    }
                    int m = marks[_rng.Next(marks.Count)];
                    int end = m + 1;
                    while (end < b.Count && b[end] != '\r')
                    {
                        end++;
                    }
                    b.RemoveRange(m + 1, end - m - 1);
                    b.InsertRange(m + 1, Ascii(BadLengths[_rng.Next(BadLengths.Length)]));
                    break;
                }
                case 6: // nested array headers where a bulk belongs
                    b.InsertRange(_rng.Next(b.Count + 1), Ascii(_rng.Next(2) == 0 ? "*2\r\n*1\r\n" : "*1\r\n$1\r\n*\r\n"));
                    break;
                case 7: // a duplicated segment
                {
                    int p = _rng.Next(b.Count);
                    int len = Math.Min(b.Count - p, 1 + _rng.Next(16));
                    b.InsertRange(p, b.GetRange(p, len));
                    break;
                }
                default: // CR/LF noise
                    b.InsertRange(_rng.Next(b.Count + 1), Ascii(_rng.Next(2) == 0 ? "\r\n" : "\n\r\r\n"));
                    break;
            }
        }
        return b.ToArray();
    }
}
