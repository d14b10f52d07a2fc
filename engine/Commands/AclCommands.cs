// AUTH and the ACL family (Redis's acl.c commands): thin handlers over Security/Acl.cs, which holds the
// users, the permission check and the aclfile.
using NativeKv.Engine.Security;
using static NativeKv.Engine.Commands.CommandFlags;

namespace NativeKv.Engine.Commands;

public static unsafe class AclCommands
{
    const CommandFlags AclAdmin = Admin | NoScript | Loading | Stale;
    const CommandFlags AclPlain = NoScript | Loading | Stale;

    public static readonly CommandDef[] Rows =
    [
        CommandTable.Row("auth", -2, NoScript | Loading | Stale | Fast | NoAuth, 0, 0, 0, &Auth, "connection", "Authenticates the connection."),
        CommandTable.Parent("acl", -2, None, "server", "A container for Access List Control commands.",
            CommandTable.Row("acl|cat", -2, AclPlain, 0, 0, 0, &Cat, "server", "Lists the ACL categories, or the commands inside a category.", "6.0.0"),
            CommandTable.Row("acl|deluser", -3, AclAdmin, 0, 0, 0, &DelUser, "server", "Deletes ACL users, and terminates their connections.", "6.0.0"),
            CommandTable.Row("acl|dryrun", -4, AclAdmin, 0, 0, 0, &DryRun, "server", "Simulates the execution of a command by a user, without executing the command.", "7.0.0"),
            CommandTable.Row("acl|genpass", -2, AclPlain, 0, 0, 0, &GenPass, "server", "Generates a pseudorandom, secure password that can be used to identify ACL users.", "6.0.0"),
            CommandTable.Row("acl|getuser", 3, AclAdmin, 0, 0, 0, &GetUser, "server", "Lists the ACL rules of a user.", "6.0.0"),
            CommandTable.Row("acl|help", 2, Loading | Stale, 0, 0, 0, &Help, "server", "Returns helpful text about the different subcommands.", "6.0.0"),
            CommandTable.Row("acl|list", 2, AclAdmin, 0, 0, 0, &List, "server", "Dumps the effective rules in ACL file format.", "6.0.0"),
            CommandTable.Row("acl|load", 2, AclAdmin, 0, 0, 0, &Load, "server", "Reloads the rules from the configured ACL file.", "6.0.0"),
            CommandTable.Row("acl|log", -2, AclAdmin, 0, 0, 0, &Log, "server", "Lists recent security events generated due to ACL rules.", "6.0.0"),
            CommandTable.Row("acl|save", 2, AclAdmin, 0, 0, 0, &Save, "server", "Saves the effective ACL rules in the configured ACL file.", "6.0.0"),
            CommandTable.Row("acl|setuser", -3, AclAdmin, 0, 0, 0, &SetUser, "server", "Creates and modifies an ACL user and its rules.", "6.0.0"),
            CommandTable.Row("acl|users", 2, AclAdmin, 0, 0, 0, &Users, "server", "Lists all ACL users.", "6.0.0"),
            CommandTable.Row("acl|whoami", 2, AclPlain, 0, 0, 0, &WhoAmI, "server", "Returns the authenticated username of the current connection.", "6.0.0")),
    ];

    // AUTH [username] password
    public static void Auth(ref CommandContext c)
    {
        if (c.Argc > 3)
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        string user;
        ReadOnlySpan<byte> password;
        if (c.Argc == 2)
        {
            var d = c.Server.Acl.Default;
            if (d.NoPass)
            {
                c.Reply.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"u8);
                return;
            }
            user = Acl.DefaultUserName;
            password = c.Arg(1);
        }
        else
        {
            user = c.ArgString(1);
            password = c.Arg(2);
        }
        if (Security.Auth.TryAuthenticate(c.Server, c.Client, user, password, out string? error)) c.Reply.WriteOk();
        else c.Reply.WriteError(error!);
    }

    /// <summary>Redis's reply to ACL subcommands with too many arguments (addReplySubcommandSyntaxError).</summary>
    static void SubcommandSyntaxError(ref CommandContext c)
    {
        string sub = c.ArgString(1);
        if (sub.Length > 128) sub = sub[..128];
        c.Reply.WriteError($"ERR unknown subcommand or wrong number of arguments for '{sub}'. Try ACL HELP.");
    }

    // ACL CAT [category]
    public static void Cat(ref CommandContext c)
    {
        if (c.Argc > 3)
        {
            SubcommandSyntaxError(ref c);
            return;
        }
        if (c.Argc == 2)
        {
            c.Reply.WriteArrayHeader(AclCategories.Names.Length);
            foreach (var n in AclCategories.Names) c.Reply.WriteBulk(n);
            return;
        }
        ulong bit = AclCategories.Bit(c.ArgString(2));
        if (bit == 0)
        {
            c.Reply.WriteError($"ERR Unknown category '{c.ArgString(2)}'");
            return;
        }
        var names = CommandTable.ById.Where(cmd => (cmd.AclCategoryBits & bit) != 0).Select(cmd => cmd.Name).ToList();
        c.Reply.WriteArrayHeader(names.Count);
        foreach (var n in names) c.Reply.WriteBulk(n);
    }

    // ACL DELUSER username [username ...]
    public static void DelUser(ref CommandContext c)
    {
        var names = new List<string>();
        for (int i = 2; i < c.Argc; i++)
        {
            string name = c.ArgString(i);
            if (name == Acl.DefaultUserName)
            {
                c.Reply.WriteError("ERR The 'default' user cannot be removed"u8);
                return;
            }
            names.Add(name);
        }
        c.Reply.WriteInteger(c.Server.Acl.DeleteUsers(names, c.Client));
    }

    // ACL DRYRUN username command [arg ...]
    public static void DryRun(ref CommandContext c)
    {
        string userName = c.ArgString(2);
        var user = c.Server.Acl.GetUser(userName);
        if (user == null)
        {
            c.Reply.WriteError($"ERR User '{userName}' not found");
            return;
        }
        var cmd = CommandTable.Lookup(c.Arg(3));
        if (cmd != null && cmd.Subcommands != null && c.Argc >= 5) cmd = CommandTable.LookupSub(cmd, c.Arg(4));
        if (cmd == null)
        {
            c.Reply.WriteError($"ERR Command '{c.ArgString(3)}' not found");
            return;
        }
        if (!cmd.ArityOk(c.Argc - 3))
        {
            c.Reply.WriteError(Errors.WrongArity(cmd.Name));
            return;
        }
        var denial = Acl.Check(user, cmd, c.Args, 3, out int errorArg);
        switch (denial)
        {
            case AclDenial.None: c.Reply.WriteOk(); break;
            case AclDenial.Command: c.Reply.WriteBulk($"This user has no permissions to run the '{cmd.Name}' command"); break;
            case AclDenial.Key: c.Reply.WriteBulk($"This user has no permissions to access the '{c.ArgString(errorArg)}' key"); break;
            default: c.Reply.WriteBulk($"This user has no permissions to access the '{c.ArgString(errorArg)}' channel"); break;
        }
    }

    // ACL GENPASS [bits]
    public static void GenPass(ref CommandContext c)
    {
        if (c.Argc > 3)
        {
            SubcommandSyntaxError(ref c);
            return;
        }
        long bits = 256;
        if (c.Argc == 3)
        {
            if (!c.TryArgInt64OrReply(2, out bits)) return;
            if (bits <= 0 || bits > 4096)
            {
                c.Reply.WriteError("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"u8);
                return;
            }
        }
        c.Reply.WriteBulk(Acl.GeneratePassword((int)bits));
    }

    // ACL GETUSER username
    public static void GetUser(ref CommandContext c)
    {
        var u = c.Server.Acl.GetUser(c.ArgString(2));
        if (u == null)
        {
            c.Reply.WriteNull();
            return;
        }
        var w = c.Reply;
        w.WriteMapHeader(6);
        w.WriteBulk("flags");
        var flags = u.FlagWords();
        w.WriteArrayHeader(flags.Count);
        foreach (var f in flags) w.WriteBulk(f);
        w.WriteBulk("passwords");
        var passwords = u.Passwords;
        w.WriteArrayHeader(passwords.Count);
        foreach (var p in passwords) w.WriteBulk(p);
        w.WriteBulk("commands");
        w.WriteBulk(u.DescribeCommands());
        w.WriteBulk("keys");
        w.WriteBulk(u.DescribeKeys());
        w.WriteBulk("channels");
        w.WriteBulk(u.DescribeChannels());
        w.WriteBulk("selectors");
        w.WriteArrayHeader(u.Selectors.Count);
        foreach (var sel in u.Selectors)
        {
            w.WriteMapHeader(3);
            w.WriteBulk("commands");
            w.WriteBulk(sel.DescribeCommands());
            w.WriteBulk("keys");
            w.WriteBulk(sel.DescribeKeys());
            w.WriteBulk("channels");
            w.WriteBulk(sel.DescribeChannels());
        }
    }

    static readonly string[] HelpLines =
    [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List the command categories, or the commands in <category>.",
        "DELUSER <username> [<username> ...]",
        "    Delete users and close their connections.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Tell whether <username> may run <command> with these arguments.",
        "GETUSER <username>",
        "    The user's flags, passwords, commands, keys and channels.",
        "LIST",
        "    Every user, in ACL file format.",
        "USERS",
        "    Every user name.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create the user, or change it (all attributes apply, or none).",
        "LOAD",
        "    Replace the users with the ACL file's.",
        "SAVE",
        "    Write the users to the ACL file.",
        "LOG [<count> | RESET]",
        "    The latest refused authentications and commands, or clear them.",
        "GENPASS [<bits>]",
        "    A random password of <bits> bits (default 256), in hex.",
        "WHOAMI",
        "    The user of this connection.",
        "HELP",
        "    This text.",
    ];

    // ACL HELP
    public static void Help(ref CommandContext c)
    {
        c.Reply.WriteArrayHeader(HelpLines.Length);
        foreach (var line in HelpLines) c.Reply.WriteSimpleString(System.Text.Encoding.ASCII.GetBytes(line));
    }

    // ACL LIST
    public static void List(ref CommandContext c)
    {
        var users = c.Server.Acl.Users();
        c.Reply.WriteArrayHeader(users.Count);
        foreach (var u in users) c.Reply.WriteBulk(u.Describe());
    }

    // ACL USERS
    public static void Users(ref CommandContext c)
    {
        var users = c.Server.Acl.Users();
        c.Reply.WriteArrayHeader(users.Count);
        foreach (var u in users) c.Reply.WriteBulk(u.Name);
    }

    const string NoAclFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

    // ACL LOAD
    public static void Load(ref CommandContext c)
    {
        string path = c.Server.Config.AclFile;
        if (path.Length == 0)
        {
            c.Reply.WriteError(NoAclFile);
            return;
        }
        if (c.Server.Acl.LoadFile(path, c.Client) is { } err) c.Reply.WriteError("ERR " + err);
        else c.Reply.WriteOk();
    }

    // ACL SAVE
    public static void Save(ref CommandContext c)
    {
        string path = c.Server.Config.AclFile;
        if (path.Length == 0)
        {
            c.Reply.WriteError(NoAclFile);
            return;
        }
        if (c.Server.Acl.SaveFile(path) is { } err) c.Reply.WriteError(err);
        else c.Reply.WriteOk();
    }

    // ACL LOG [count | RESET]
    public static void Log(ref CommandContext c)
    {
        if (c.Argc > 3)
        {
            SubcommandSyntaxError(ref c);
            return;
        }
        long count = 10;
        if (c.Argc == 3)
        {
            if (c.ArgIs(2, "RESET"u8))
            {
                c.Server.Acl.ResetLog();
                c.Reply.WriteOk();
                return;
            }
            if (!c.TryArgInt64OrReply(2, out count)) return;
            if (count < 0) count = 0; // Redis answers an empty list
        }
        var entries = c.Server.Acl.LogEntries(count);
        long now = Clock.UnixMs();
        var w = c.Reply;
        w.WriteArrayHeader(entries.Count);
        foreach (var e in entries)
        {
            w.WriteMapHeader(7);
            w.WriteBulk("count");
            w.WriteInteger(e.Count);
            w.WriteBulk("reason");
            w.WriteBulk(e.Reason);
            w.WriteBulk("context");
            w.WriteBulk(e.Context);
            w.WriteBulk("object");
            w.WriteBulk(e.Object);
            w.WriteBulk("username");
            w.WriteBulk(e.Username);
            w.WriteBulk("age-seconds");
            w.WriteDouble((now - e.CreatedMs) / 1000.0);
            w.WriteBulk("client-info");
            w.WriteBulk(e.ClientInfo);
        }
    }

    // ACL SETUSER username [rule [rule ...]]
    public static void SetUser(ref CommandContext c)
    {
        var rules = new List<string>(c.Argc - 3);
        for (int i = 3; i < c.Argc; i++) rules.Add(c.ArgString(i));
        if (c.Server.Acl.SetUser(c.ArgString(2), rules) is { } err) c.Reply.WriteError(err);
        else c.Reply.WriteOk();
    }

    // ACL WHOAMI
    public static void WhoAmI(ref CommandContext c) => c.Reply.WriteBulk(c.Client.User);
}
