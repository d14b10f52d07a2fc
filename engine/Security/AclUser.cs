// One ACL user (Redis's acl.c `user` with its root selector): on/off, password hashes, the commands it
// may run as a bitmap over command ids (one bit test per command), key patterns with read/write
// permissions, channel patterns. ACL SETUSER rules are applied here (ApplyRule), and the user is
// described back as ACL LIST / ACL GETUSER / the ACL file print it (Describe*). A user's fields are
// changed only through Acl (under its lock), by copying a fully edited clone back: SETUSER is atomic.
using System.Security.Cryptography;
using System.Text;
using NativeKv.Engine.Commands;

namespace NativeKv.Engine.Security;

[Flags]
public enum KeyPermission : byte
{
    Read = 1,
    Write = 2,
    All = Read | Write,
}

public sealed class AclUser
{
    public readonly string Name;
    public bool Enabled;
    public bool NoPass;

    /// <summary>skip-sanitize-payload / sanitize-payload: accepted and shown (RESTORE always checks).</summary>
    public bool SkipSanitizePayload, SanitizePayload;

    /// <summary>SHA-256 hashes of the passwords, lower-case hex, in the order they were added.</summary>
    public List<string> Passwords = [];

    /// <summary>Bit per command id; bit <see cref="CommandTable.IdCount"/> is Redis's "future commands"
    /// bit, set only by +@all / allcommands.</summary>
    public ulong[] Allowed = NewBitmap();

    public bool AllKeys;
    public List<(byte[] Pattern, KeyPermission Perm)> KeyPatterns = [];
    public bool AllChannels;
    public List<byte[]> ChannelPatterns = [];

    /// <summary>First arguments allowed for commands whose bit is off (Redis's "+select|0", deprecated
    /// there but accepted): command id to the allowed first arguments (compared without case).</summary>
    public Dictionary<int, List<string>>? FirstArgs;

    /// <summary>Redis 7 selectors, "(~keys +commands &channels)": more permission sets of the same shape
    /// (each an AclUser of which only the commands, keys and channels are used). A command runs when the
    /// user's own rules or any one selector allow all of it.</summary>
    public List<AclUser> Selectors = [];

    /// <summary>True when nothing about this user needs checking per command (all commands, keys and
    /// channels): its clients run with <see cref="ClientState.Restricted"/> false.</summary>
    public bool Unrestricted;

    public AclUser(string name) => Name = name;

    static ulong[] NewBitmap() => new ulong[(CommandTable.IdCount + 1 + 63) / 64];

    static int FutureBit => CommandTable.IdCount;

    public bool CanRun(int id) => (Allowed[id >> 6] & (1UL << (id & 63))) != 0;

    public AclUser Clone(string? name = null) => new(name ?? Name)
    {
        Enabled = Enabled,
        NoPass = NoPass,
        SkipSanitizePayload = SkipSanitizePayload,
        SanitizePayload = SanitizePayload,
        Passwords = [.. Passwords],
        Allowed = (ulong[])Allowed.Clone(),
        AllKeys = AllKeys,
        KeyPatterns = [.. KeyPatterns],
        AllChannels = AllChannels,
        ChannelPatterns = [.. ChannelPatterns],
        Selectors = Selectors.Select(x => x.Clone("")).ToList(),
        FirstArgs = FirstArgs?.ToDictionary(kv => kv.Key, kv => new List<string>(kv.Value)),
        Unrestricted = Unrestricted,
    };

    /// <summary>Copies <paramref name="from"/>'s rules into this user (the commit of an edited clone).</summary>
    public void CopyFrom(AclUser from)
    {
        Enabled = from.Enabled;
        NoPass = from.NoPass;
        SkipSanitizePayload = from.SkipSanitizePayload;
        SanitizePayload = from.SanitizePayload;
        Passwords = from.Passwords;
        Allowed = from.Allowed;
        AllKeys = from.AllKeys;
        KeyPatterns = from.KeyPatterns;
        AllChannels = from.AllChannels;
        ChannelPatterns = from.ChannelPatterns;
        Selectors = from.Selectors;
        FirstArgs = from.FirstArgs;
        Unrestricted = from.Unrestricted;
    }

    public void UpdateUnrestricted()
    {
        bool all = AllKeys && AllChannels;
        for (int id = 0; all && id < CommandTable.IdCount; id++) all = CanRun(id);
        Unrestricted = all;
    }

    // ---------------------------------------------------------------- passwords

    public static string HashPassword(ReadOnlySpan<byte> password)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(password, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>True when <paramref name="password"/> opens this user (Redis's ACLCheckUserCredentials).</summary>
    public bool CheckPassword(ReadOnlySpan<byte> password)
    {
        if (!Enabled) return false;
        if (NoPass) return true;
        var hash = Encoding.ASCII.GetBytes(HashPassword(password));
        bool ok = false;
        foreach (var p in Passwords)
            ok |= CryptographicOperations.FixedTimeEquals(hash, Encoding.ASCII.GetBytes(p)); // no early exit: constant time
        return ok;
    }

    static bool IsValidHash(ReadOnlySpan<char> h)
    {
        if (h.Length != 64) return false;
        foreach (char ch in h)
            if (!(ch is >= '0' and <= '9' or >= 'a' and <= 'f')) return false;
        return true;
    }

    // ---------------------------------------------------------------- commands

    void SetBit(int id, bool on)
    {
        FirstArgs?.Remove(id); // a rule about the whole command replaces its first-arg rules
        if (on) Allowed[id >> 6] |= 1UL << (id & 63);
        else Allowed[id >> 6] &= ~(1UL << (id & 63));
    }

    /// <summary>Allows or denies a command; for a container, also every subcommand.</summary>
    void SetCommand(CommandDef cmd, bool on)
    {
        SetBit(cmd.Id, on);
        if (cmd.Subcommands != null)
            foreach (var sub in cmd.Subcommands) SetBit(sub.Id, on);
    }

    void SetCategory(ulong bit, bool on)
    {
        foreach (var cmd in CommandTable.ById)
            if ((cmd.AclCategoryBits & bit) != 0) SetBit(cmd.Id, on);
    }

    void SetAll(bool on)
    {
        Array.Fill(Allowed, on ? ulong.MaxValue : 0);
        FirstArgs = null;
    }

    // ---------------------------------------------------------------- rules

    /// <summary>
    /// Applies one ACL SETUSER rule. Returns null, or the reason it is refused (Redis's texts, which
    /// ACL SETUSER wraps as "Error in ACL SETUSER modifier '...': reason").
    /// </summary>
    public string? ApplyRule(string op, bool allChannelsByDefault)
    {
        const string SyntaxError = "Syntax error";
        const string UnknownCommand = "Unknown command or category name in ACL";
        const string BadHash = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
        const string NoSuchPassword = "The password you are trying to remove from the user does not exist";
        if (op.Length == 0) return SyntaxError;
        string lower = op.ToLowerInvariant();
        switch (lower)
        {
            case "on": Enabled = true; return null;
            case "off": Enabled = false; return null;
            case "skip-sanitize-payload": SkipSanitizePayload = true; SanitizePayload = false; return null;
            case "sanitize-payload": SanitizePayload = true; SkipSanitizePayload = false; return null;
            case "nopass": NoPass = true; Passwords = []; return null;
            case "resetpass": NoPass = false; Passwords = []; return null;
            case "allkeys" or "~*": AllKeys = true; KeyPatterns = []; return null;
            case "resetkeys": AllKeys = false; KeyPatterns = []; return null;
            case "allchannels" or "&*": AllChannels = true; ChannelPatterns = []; return null;
            case "resetchannels": AllChannels = false; ChannelPatterns = []; return null;
            case "allcommands" or "+@all": SetAll(true); return null;
            case "nocommands" or "-@all": SetAll(false); return null;
            case "clearselectors": Selectors = []; return null;
            case "reset":
                foreach (var r in new[] { "resetpass", "resetkeys", "resetchannels", "off", "-@all", "sanitize-payload", "clearselectors" })
                    ApplyRule(r, allChannelsByDefault);
                if (allChannelsByDefault) AllChannels = true;
                return null;
        }
        switch (op[0])
        {
            case '>':
            {
                NoPass = false;
                string h = HashPassword(Encoding.UTF8.GetBytes(op[1..]));
                if (!Passwords.Contains(h)) Passwords.Add(h);
                return null;
            }
            case '#':
            {
                if (!IsValidHash(op.AsSpan(1))) return BadHash;
                NoPass = false;
                if (!Passwords.Contains(op[1..])) Passwords.Add(op[1..]);
                return null;
            }
            case '<':
            {
                string h = HashPassword(Encoding.UTF8.GetBytes(op[1..]));
                return Passwords.Remove(h) ? null : NoSuchPassword;
            }
            case '!':
            {
                if (!IsValidHash(op.AsSpan(1))) return BadHash;
                return Passwords.Remove(op[1..]) ? null : NoSuchPassword;
            }
            case '~' or '%':
                return AddKeyPattern(op);
            case '&':
            {
                if (AllChannels)
                    return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
                var pat = Encoding.UTF8.GetBytes(op[1..]);
                if (pat.AsSpan().IndexOfAny((byte)' ', (byte)0) >= 0) return SyntaxError;
                if (!ChannelPatterns.Any(p => p.AsSpan().SequenceEqual(pat))) ChannelPatterns.Add(pat);
                return null;
            }
            case '+' or '-':
            {
                bool on = op[0] == '+';
                string name = op[1..];
                if (name.StartsWith('@'))
                {
                    ulong bit = AclCategories.Bit(name.AsSpan(1));
                    if (bit == 0) return UnknownCommand;
                    SetCategory(bit, on);
                    return null;
                }
                int bar = name.IndexOf('|');
                if (bar < 0)
                {
                    var cmd = CommandTable.LookupOriginal(Encoding.UTF8.GetBytes(name));
                    if (cmd == null) return UnknownCommand;
                    SetCommand(cmd, on);
                    return null;
                }
                string subName = name[(bar + 1)..];
                if (subName.Length == 0) return SyntaxError;
                var parent = CommandTable.LookupOriginal(Encoding.UTF8.GetBytes(name[..bar]));
                if (parent == null) return UnknownCommand;
                if (parent.Subcommands == null)
                {
                    // "+select|0": that first argument only (Redis 7.0 still accepts it); no negative form.
                    if (!on) return UnknownCommand;
                    FirstArgs ??= [];
                    if (!FirstArgs.TryGetValue(parent.Id, out var list)) FirstArgs[parent.Id] = list = [];
                    if (!list.Any(a => a.Equals(subName, StringComparison.OrdinalIgnoreCase))) list.Add(subName);
                    return null;
                }
                if (subName.Contains('|')) return "Allowing first-arg of a subcommand is not supported";
                var sub = CommandTable.LookupSub(parent, Encoding.UTF8.GetBytes(subName));
                if (sub == null) return UnknownCommand;
                SetBit(sub.Id, on);
                return null;
            }
            case '(':
                return AddSelector(op, allChannelsByDefault);
        }
        return SyntaxError;
    }

    /// <summary>"(rule rule ...)": a new selector from the rules inside (commands, keys and channels only).</summary>
    string? AddSelector(string op, bool allChannelsByDefault)
    {
        if (op.Length < 2 || op[^1] != ')') return "Syntax error";
        var words = Config.ServerConfig.SplitArgs(op[1..^1]);
        if (words == null) return "Syntax error";
        var selector = new AclUser("") { AllChannels = allChannelsByDefault };
        foreach (var w in words)
        {
            if (IsUserLevelRule(w)) return "Syntax error";
            if (selector.ApplyRule(w, allChannelsByDefault) is { } err) return err;
        }
        Selectors.Add(selector);
        return null;
    }

    /// <summary>Rules about the user rather than a permission set: not allowed inside a selector.</summary>
    static bool IsUserLevelRule(string op)
    {
        if (op.Length == 0) return true;
        if (op[0] is '>' or '<' or '#' or '!' or '(') return true;
        return op.ToLowerInvariant() is "on" or "off" or "nopass" or "resetpass" or "reset" or "skip-sanitize-payload"
            or "sanitize-payload" or "clearselectors";
    }

    /// <summary>
    /// ACL SETUSER's arguments with selectors put back together: an argument that opens a parenthesis
    /// runs, joined by spaces, to the one that closes it (Redis's ACLMergeSelectorArguments). Null, with
    /// the error text, when a parenthesis is never closed.
    /// </summary>
    public static List<string>? MergeSelectorArguments(IReadOnlyList<string> args, out string? error)
    {
        error = null;
        var merged = new List<string>(args.Count);
        StringBuilder? open = null;
        string openedBy = "";
        foreach (var a in args)
        {
            if (open != null)
            {
                open.Append(' ').Append(a);
                if (a.EndsWith(')'))
                {
                    merged.Add(open.ToString());
                    open = null;
                }
                continue;
            }
            if (a.StartsWith('(') && !a.EndsWith(')'))
            {
                open = new StringBuilder(a);
                openedBy = a;
            }
            else merged.Add(a);
        }
        if (open == null) return merged;
        error = $"ERR Unmatched parenthesis in acl selector starting at '{openedBy}'.";
        return null;
    }

    string? AddKeyPattern(string op)
    {
        if (AllKeys)
            return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
        KeyPermission perm = 0;
        int offset;
        if (op[0] == '%')
        {
            offset = 1;
            for (; offset < op.Length; offset++)
            {
                char ch = char.ToUpperInvariant(op[offset]);
                if (ch == 'R' && (perm & KeyPermission.Read) == 0) perm |= KeyPermission.Read;
                else if (ch == 'W' && (perm & KeyPermission.Write) == 0) perm |= KeyPermission.Write;
                else if (op[offset] == '~') { offset++; break; }
                else return "Syntax error";
            }
            if (perm == 0) return "Syntax error"; // "%R" without '~' is an empty pattern, as in Redis
        }
        else
        {
            perm = KeyPermission.All;
            offset = 1;
        }
        var pat = Encoding.UTF8.GetBytes(op[offset..]);
        if (pat.AsSpan().IndexOfAny((byte)' ', (byte)0) >= 0) return "Syntax error";
        int existing = KeyPatterns.FindIndex(p => p.Pattern.AsSpan().SequenceEqual(pat));
        if (existing >= 0) KeyPatterns[existing] = (pat, KeyPatterns[existing].Perm | perm);
        else KeyPatterns.Add((pat, perm));
        return null;
    }

    // ---------------------------------------------------------------- permission checks

    public bool CanAccessKey(ReadOnlySpan<byte> key, KeyPermission need)
    {
        if (AllKeys) return true;
        foreach (var (pattern, perm) in KeyPatterns)
            if ((perm & need) == need && Glob.Match(pattern, key)) return true;
        return false;
    }

    /// <summary>A channel (or, for PSUBSCRIBE, a pattern, which must equal an allowed pattern).</summary>
    public bool CanAccessChannel(ReadOnlySpan<byte> channel, bool isPattern)
    {
        if (AllChannels) return true;
        foreach (var p in ChannelPatterns)
            if (isPattern ? p.AsSpan().SequenceEqual(channel) : Glob.Match(p, channel)) return true;
        return false;
    }

    // ---------------------------------------------------------------- description

    /// <summary>The flags as ACL GETUSER lists them.</summary>
    public List<string> FlagWords()
    {
        var list = new List<string> { Enabled ? "on" : "off" };
        if (NoPass) list.Add("nopass");
        if (SkipSanitizePayload) list.Add("skip-sanitize-payload");
        if (SanitizePayload) list.Add("sanitize-payload");
        return list;
    }

    /// <summary>The key patterns as GETUSER shows them ("~*", "%R~a* ~b", or "").</summary>
    public string DescribeKeys()
    {
        if (AllKeys) return "~*";
        return string.Join(' ', KeyPatterns.Select(p =>
            (p.Perm == KeyPermission.All ? "~" : p.Perm == KeyPermission.Read ? "%R~" : "%W~") + Encoding.UTF8.GetString(p.Pattern)));
    }

    public string DescribeChannels()
    {
        if (AllChannels) return "&*";
        return string.Join(' ', ChannelPatterns.Select(p => "&" + Encoding.UTF8.GetString(p)));
    }

    /// <summary>
    /// The command rules, rebuilt from the bitmap as Redis 7.0 does: start from +@all (if the user may
    /// run future commands) or -@all; then, as long as some category not used yet has more commands
    /// that agree with the user than disagree, add (or remove) the one with the fewest disagreements,
    /// the most agreements breaking ties (commands settled by the categories used so far count as
    /// disagreeing); finally fix the single commands and subcommands that still differ, in table order.
    /// </summary>
    public string DescribeCommands()
    {
        bool additive = !CanRun(FutureBit);
        var sb = new StringBuilder(additive ? "-@all " : "+@all ");
        var fake = new AclUser("");
        fake.SetAll(!additive);
        var temp = Clone("");
        var used = new bool[AclCategories.Names.Length];
        while (true)
        {
            int best = -1;
            int bestDiff = int.MaxValue, bestSame = 0;
            for (int c = 0; c < used.Length; c++)
            {
                if (used[c]) continue;
                ulong bit = 1UL << c;
                int on = 0, off = 0;
                foreach (var cmd in CommandTable.ById)
                {
                    if ((cmd.AclCategoryBits & bit) == 0) continue;
                    if (temp.CanRun(cmd.Id)) on++;
                    else off++;
                }
                int same = additive ? on : off, diff = additive ? off : on;
                if (same > diff && (diff < bestDiff || (diff == bestDiff && same > bestSame)))
                {
                    best = c;
                    bestDiff = diff;
                    bestSame = same;
                }
            }
            if (best < 0) break;
            used[best] = true;
            sb.Append(additive ? "+@" : "-@").Append(AclCategories.Names[best]).Append(' ');
            fake.SetCategory(1UL << best, additive);
            temp.SetCategory(1UL << best, !additive);
        }
        foreach (var cmd in CommandTable.All)
        {
            FixCommand(cmd, fake, sb);
            if (cmd.Subcommands != null)
                foreach (var sub in cmd.Subcommands) FixCommand(sub, fake, sb);
        }
        if (sb.Length > 0 && sb[^1] == ' ') sb.Length--;
        return sb.ToString();
    }

    void FixCommand(CommandDef cmd, AclUser fake, StringBuilder sb)
    {
        bool mine = CanRun(cmd.Id);
        if (mine != fake.CanRun(cmd.Id))
        {
            sb.Append(mine ? '+' : '-').Append(cmd.Name).Append(' ');
            fake.SetCommand(cmd, mine);
        }
        if (!mine && FirstArgs != null && FirstArgs.TryGetValue(cmd.Id, out var args))
            foreach (var a in args) sb.Append('+').Append(cmd.Name).Append('|').Append(a).Append(' ');
    }

    /// <summary>True when a first-arg rule allows this call of a command whose bit is off.</summary>
    public bool FirstArgAllowed(CommandDef cmd, ReadOnlySpan<byte> firstArg)
    {
        if (FirstArgs == null || !FirstArgs.TryGetValue(cmd.Id, out var list)) return false;
        foreach (var a in list)
            if (System.Text.Ascii.EqualsIgnoreCase(firstArg, a)) return true; // no allocation: bytes against chars
        return false;
    }

    /// <summary>Keys, channels and commands, as ACL LIST prints a permission set.</summary>
    public string DescribeSelector()
    {
        var sb = new StringBuilder();
        if (AllKeys) sb.Append("~* ");
        else
            foreach (var (pattern, perm) in KeyPatterns)
                sb.Append(perm == KeyPermission.All ? "~" : perm == KeyPermission.Read ? "%R~" : "%W~").Append(Encoding.UTF8.GetString(pattern)).Append(' ');
        if (AllChannels) sb.Append("&* ");
        else
        {
            sb.Append("resetchannels ");
            foreach (var p in ChannelPatterns) sb.Append('&').Append(Encoding.UTF8.GetString(p)).Append(' ');
        }
        sb.Append(DescribeCommands());
        return sb.ToString();
    }

    /// <summary>The user as one ACL LIST line / ACL file line: "user name on #hash ~* &amp;* +@all (~a +get)".</summary>
    public string Describe()
    {
        var sb = new StringBuilder("user ").Append(Name).Append(' ');
        foreach (var f in FlagWords()) sb.Append(f).Append(' ');
        foreach (var p in Passwords) sb.Append('#').Append(p).Append(' ');
        sb.Append(DescribeSelector());
        foreach (var sel in Selectors) sb.Append(" (").Append(sel.DescribeSelector()).Append(')');
        return sb.ToString();
    }
}
