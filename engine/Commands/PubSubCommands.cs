// Pub/Sub commands (Redis's pubsub.c) and MONITOR: thin handlers over PubSub/PubSubHub.cs. Replies to
// (UN)SUBSCRIBE are arrays in RESP2 and push messages in RESP3, one per channel, each carrying the
// client's subscription count after that step.
using NativeKv.Engine.PubSub;
using static NativeKv.Engine.Commands.CommandFlags;

namespace NativeKv.Engine.Commands;

public static unsafe class PubSubCommands
{
    internal static readonly CommandDef[] Rows =
    [
        CommandTable.Row("subscribe", -2, CommandFlags.PubSub | NoScript | Loading | Stale, 0, 0, 0, &Subscribe, "pubsub", "Listens for messages published to channels.", "2.0.0"),
        CommandTable.Row("unsubscribe", -1, CommandFlags.PubSub | NoScript | Loading | Stale, 0, 0, 0, &Unsubscribe, "pubsub", "Stops listening to messages posted to channels.", "2.0.0"),
        CommandTable.Row("psubscribe", -2, CommandFlags.PubSub | NoScript | Loading | Stale, 0, 0, 0, &PSubscribe, "pubsub", "Listens for messages published to channels that match one or more patterns.", "2.0.0"),
        CommandTable.Row("punsubscribe", -1, CommandFlags.PubSub | NoScript | Loading | Stale, 0, 0, 0, &PUnsubscribe, "pubsub", "Stops listening to messages published to channels that match one or more patterns.", "2.0.0"),
        CommandTable.Row("ssubscribe", -2, CommandFlags.PubSub | NoScript | Loading | Stale, 0, 0, 0, &SSubscribe, "pubsub", "Listens for messages published to shard channels.", "7.0.0"),
        CommandTable.Row("sunsubscribe", -1, CommandFlags.PubSub | NoScript | Loading | Stale, 0, 0, 0, &SUnsubscribe, "pubsub", "Stops listening to messages posted to shard channels.", "7.0.0"),
        CommandTable.Row("publish", 3, CommandFlags.PubSub | Loading | Stale | Fast, 0, 0, 0, &Publish, "pubsub", "Posts a message to a channel.", "2.0.0"),
        CommandTable.Row("spublish", 3, CommandFlags.PubSub | Loading | Stale | Fast, 0, 0, 0, &SPublish, "pubsub", "Post a message to a shard channel", "7.0.0"),
        CommandTable.Parent("pubsub", -2, None, "pubsub", "A container for Pub/Sub commands.",
            CommandTable.Row("pubsub|channels", -2, CommandFlags.PubSub | Loading | Stale, 0, 0, 0, &Channels, "pubsub", "Returns the active channels.", "2.8.0"),
            CommandTable.Row("pubsub|numsub", -2, CommandFlags.PubSub | Loading | Stale, 0, 0, 0, &NumSub, "pubsub", "Returns a count of subscribers to channels.", "2.8.0"),
            CommandTable.Row("pubsub|numpat", 2, CommandFlags.PubSub | Loading | Stale, 0, 0, 0, &NumPat, "pubsub", "Returns a count of unique pattern subscriptions.", "2.8.0"),
            CommandTable.Row("pubsub|shardchannels", -2, CommandFlags.PubSub | Loading | Stale, 0, 0, 0, &ShardChannels, "pubsub", "Returns the active shard channels.", "7.0.0"),
            CommandTable.Row("pubsub|shardnumsub", -2, CommandFlags.PubSub | Loading | Stale, 0, 0, 0, &ShardNumSub, "pubsub", "Returns the count of subscribers of shard channels.", "7.0.0"),
            CommandTable.Row("pubsub|help", 2, Loading | Stale, 0, 0, 0, &Help, "pubsub", "Returns helpful text about the different subcommands.", "6.2.0")),
        CommandTable.Row("monitor", 1, Admin | NoScript | Loading | Stale, 0, 0, 0, &Monitor, "server", "Listens for all requests received by the server in real-time.", "1.0.0"),
    ];

    /// <summary>RESP2 subscriber mode: the commands a subscribed client may still run.</summary>
    public static bool AllowedWhileSubscribed(CommandDef cmd) => cmd.Name is
        "ping" or "subscribe" or "ssubscribe" or "unsubscribe" or "sunsubscribe" or "psubscribe" or "punsubscribe" or "quit" or "reset";

    /// <summary>Opens the client's out-of-band output on its first subscription (or MONITOR).</summary>
    static void EnsurePush(ref CommandContext c)
    {
        if (c.Client.Push == null) c.Client.Push = c.Client.OpenPush?.Invoke();
    }

    // SUBSCRIBE channel [channel ...]
    public static void Subscribe(ref CommandContext c) => SubscribeGeneric(ref c, SubscriptionKind.Channel, "subscribe"u8);

    // PSUBSCRIBE pattern [pattern ...]
    public static void PSubscribe(ref CommandContext c) => SubscribeGeneric(ref c, SubscriptionKind.Pattern, "psubscribe"u8);

    // SSUBSCRIBE shardchannel [shardchannel ...]
    public static void SSubscribe(ref CommandContext c) => SubscribeGeneric(ref c, SubscriptionKind.Shard, "ssubscribe"u8);

    // UNSUBSCRIBE [channel [channel ...]]
    public static void Unsubscribe(ref CommandContext c) => UnsubscribeGeneric(ref c, SubscriptionKind.Channel, "unsubscribe"u8);

    // PUNSUBSCRIBE [pattern [pattern ...]]
    public static void PUnsubscribe(ref CommandContext c) => UnsubscribeGeneric(ref c, SubscriptionKind.Pattern, "punsubscribe"u8);

    // SUNSUBSCRIBE [shardchannel [shardchannel ...]]
    public static void SUnsubscribe(ref CommandContext c) => UnsubscribeGeneric(ref c, SubscriptionKind.Shard, "sunsubscribe"u8);

    static void SubscribeGeneric(ref CommandContext c, SubscriptionKind kind, ReadOnlySpan<byte> word)
    {
        EnsurePush(ref c);
        for (int i = 1; i < c.Argc; i++)
        {
            c.Server.PubSub.Subscribe(c.Client, kind, c.Arg(i));
            WriteConfirmation(ref c, word, c.Arg(i), isNull: false, kind);
        }
    }

    static void UnsubscribeGeneric(ref CommandContext c, SubscriptionKind kind, ReadOnlySpan<byte> word)
    {
        var hub = c.Server.PubSub;
        if (c.Argc == 1)
        {
            var all = PubSubHub.Subscriptions(c.Client, kind);
            if (all.Length == 0)
            {
                WriteConfirmation(ref c, word, default, isNull: true, kind);
                return;
            }
            foreach (var name in all)
            {
                hub.Unsubscribe(c.Client, kind, name);
                WriteConfirmation(ref c, word, name, isNull: false, kind);
            }
            return;
        }
        for (int i = 1; i < c.Argc; i++)
        {
            hub.Unsubscribe(c.Client, kind, c.Arg(i));
            WriteConfirmation(ref c, word, c.Arg(i), isNull: false, kind);
        }
    }

    /// <summary>[word, channel, count]: count is channels + patterns, or shard channels for the S forms.</summary>
    static void WriteConfirmation(ref CommandContext c, ReadOnlySpan<byte> word, ReadOnlySpan<byte> name, bool isNull, SubscriptionKind kind)
    {
        var p = c.Client.PubSub;
        long count = p == null ? 0 : kind == SubscriptionKind.Shard ? p.ShardChannels.Count : p.Count;
        c.Reply.WritePushHeader(3);
        c.Reply.WriteBulk(word);
        if (isNull) c.Reply.WriteNull();
        else c.Reply.WriteBulk(name);
        c.Reply.WriteInteger(count);
    }

    // PUBLISH channel message
    public static void Publish(ref CommandContext c) =>
        c.Reply.WriteInteger(c.Server.PubSub.Publish(c.Arg(1), c.Arg(2), shard: false, c.Client, c.Reply));

    // SPUBLISH shardchannel message
    public static void SPublish(ref CommandContext c) =>
        c.Reply.WriteInteger(c.Server.PubSub.Publish(c.Arg(1), c.Arg(2), shard: true, c.Client, c.Reply));

    // PUBSUB CHANNELS [pattern]
    public static void Channels(ref CommandContext c) => ChannelsGeneric(ref c, shard: false);

    // PUBSUB SHARDCHANNELS [pattern]
    public static void ShardChannels(ref CommandContext c) => ChannelsGeneric(ref c, shard: true);

    static void ChannelsGeneric(ref CommandContext c, bool shard)
    {
        if (c.Argc > 3)
        {
            c.Reply.WriteError($"ERR unknown subcommand or wrong number of arguments for '{c.ArgString(1)}'. Try PUBSUB HELP.");
            return;
        }
        var names = c.Server.PubSub.ActiveChannels(shard, c.Argc == 3 ? c.Arg(2) : default, c.Argc == 3);
        c.Reply.WriteArrayHeader(names.Count);
        foreach (var n in names) c.Reply.WriteBulk(n);
    }

    // PUBSUB NUMSUB [channel [channel ...]]
    public static void NumSub(ref CommandContext c) => NumSubGeneric(ref c, shard: false);

    // PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]
    public static void ShardNumSub(ref CommandContext c) => NumSubGeneric(ref c, shard: true);

    static void NumSubGeneric(ref CommandContext c, bool shard)
    {
        c.Reply.WriteArrayHeader((c.Argc - 2) * 2); // an array in RESP3 too, as Redis 7.0
        for (int i = 2; i < c.Argc; i++)
        {
            c.Reply.WriteBulk(c.Arg(i));
            c.Reply.WriteInteger(c.Server.PubSub.SubscriberCount(c.Arg(i), shard));
        }
    }

    // PUBSUB NUMPAT
    public static void NumPat(ref CommandContext c) => c.Reply.WriteInteger(c.Server.PubSub.PatternCount);

    // PUBSUB HELP
    public static void Help(ref CommandContext c)
    {
        string[] lines =
        [
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
            "HELP",
            "    Prints this help.",
        ];
        c.Reply.WriteArrayHeader(lines.Length);
        foreach (var l in lines) c.Reply.WriteSimpleString(System.Text.Encoding.ASCII.GetBytes(l));
    }

    // MONITOR
    public static void Monitor(ref CommandContext c)
    {
        if (c.Client.DenyBlocking)
        {
            c.Reply.WriteError("ERR MONITOR isn't allowed for DENY BLOCKING client");
            return;
        }
        if (c.Client.IsMonitor) return; // Redis ignores a second MONITOR (no reply)
        EnsurePush(ref c);
        c.Server.PubSub.StartMonitor(c.Client);
        c.Reply.WriteOk();
    }
}
