// Compact reply checks for command families with many small cases (sets, sorted sets): a test is a
// script of lines "COMMAND arg arg => expected reply", sent in order on one connection, each reply
// compared with its expectation. Replies are written as redis-cli shows them, on one line:
//   +OK    :3    -ERR syntax error    "bulk"    ""    (nil)    (nil array)    ["a", "1", ["x"]]
// and {"a", "b"} for an array whose order Redis leaves unspecified (compared as a multiset).
// Arguments are separated by spaces; "double quotes" make one argument (possibly empty) of their text.
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public static class ReplyScript
{
    /// <summary>A reply in the script notation.</summary>
    public static string Show(RespValue r) => r.Type switch
    {
        RespType.SimpleString => "+" + r.Text,
        RespType.Error => "-" + r.Text,
        RespType.Integer => ":" + r.Integer.ToString(System.Globalization.CultureInfo.InvariantCulture),
        RespType.BulkString => r.Bytes is null ? "(nil)" : "\"" + r.Text + "\"",
        _ => r.Items is null ? "(nil array)" : "[" + string.Join(", ", r.Items.Select(Show)) + "]",
    };

    /// <summary>Splits a command line into arguments (spaces separate; double quotes group).</summary>
    public static string[] Split(string line)
    {
        var args = new List<string>();
        var cur = new StringBuilder();
        bool inQuotes = false, any = false;
        foreach (char ch in line)
        {
            if (ch == '"')
            {
                inQuotes = !inQuotes;
                any = true;
            }
            else if (ch == ' ' && !inQuotes)
            {
                if (any)
                {
                    args.Add(cur.ToString());
                }
                cur.Clear();
                any = false;
            }
            else
            {
                cur.Append(ch);
                any = true;
            }
        }
        if (any)
        {
            args.Add(cur.ToString());
        }
        return args.ToArray();
    }

    /// <summary>Runs a script on <paramref name="client"/>; fails at the first reply that differs.</summary>
    public static void Run(RawClient client, string script)
    {
        int n = 0;
        foreach (var raw in script.Split('\n'))
        {
            n++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }
            int arrow = line.LastIndexOf(" => ", StringComparison.Ordinal);
            if (arrow < 0)
            {
                throw new ArgumentException($"script line {n} has no expectation: {line}");
            }
            string command = line[..arrow].Trim();
            string expected = line[(arrow + 4)..].Trim();
            var reply = client.Call(Split(command));
            Check(command, reply, expected, n);
        }
    }

    public static void Check(string command, RespValue reply, string expected, int line = 0)
    {
        string got = Show(reply);
        if (expected.StartsWith('{'))
        {
            if (reply.Type != RespType.Array || reply.Items is null)
            {
                throw new AssertionException($"line {line}: {command}\n  expected the unordered array {expected}\n  got {got}");
            }
            var want = expected[1..^1].Split(", ", StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
            var have = reply.Items.Select(Show).Order(StringComparer.Ordinal);
            if (!want.SequenceEqual(have))
            {
                throw new AssertionException($"line {line}: {command}\n  expected the unordered array {expected}\n  got {got}");
            }
            return;
        }
        if (got != expected)
        {
            throw new AssertionException($"line {line}: {command}\n  expected {expected}\n  got      {got}");
        }
    }
}
