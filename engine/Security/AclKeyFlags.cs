// Which permission each key of a command needs under %R~ / %W~ patterns (Redis 7's key-spec flags):
// read when the command reads the key's value (ACCESS), write when it inserts, updates or deletes, both
// for commands such as INCR or LPOP, neither for metadata commands such as EXISTS or TYPE (the key must
// still match a pattern). Taken from redis-server 7.0's COMMAND key specifications; "i:P" means the
// keys from argument i on need P, until the next entry's index (a destination key, then source keys).
// Commands not listed fall back to their row: write commands need write, others read.
using NativeKv.Engine.Commands;

namespace NativeKv.Engine.Security;

public readonly record struct AclKeySpec(int Index, KeyPermission Need);

public static class AclKeyFlags
{
    static readonly Dictionary<string, string> Specs = new()
    {
        ["append"] = "1:W",
        ["bitfield"] = "1:RW",
        ["bitop"] = "2:W 3:R",
        ["blmove"] = "1:RW 2:W",
        ["blmpop"] = "2:RW",
        ["blpop"] = "1:RW",
        ["brpop"] = "1:RW",
        ["brpoplpush"] = "1:RW 2:W",
        ["bzmpop"] = "2:RW",
        ["bzpopmax"] = "1:RW",
        ["bzpopmin"] = "1:RW",
        ["copy"] = "1:R 2:W",
        ["decr"] = "1:RW",
        ["decrby"] = "1:RW",
        ["del"] = "1:W",
        ["dump"] = "1:R",
        ["eval"] = "2:RW",
        ["eval_ro"] = "2:R",
        ["evalsha"] = "2:RW",
        ["evalsha_ro"] = "2:R",
        ["exists"] = "1:0",
        ["expire"] = "1:W",
        ["expireat"] = "1:W",
        ["expiretime"] = "1:R",
        ["fcall"] = "2:RW",
        ["fcall_ro"] = "2:R",
        ["get"] = "1:R",
        ["getdel"] = "1:RW",
        ["getex"] = "1:RW",
        ["getrange"] = "1:R",
        ["getset"] = "1:RW",
        ["hdel"] = "1:W",
        ["hexists"] = "1:0",
        ["hget"] = "1:R",
        ["hgetall"] = "1:R",
        ["hincrby"] = "1:RW",
        ["hincrbyfloat"] = "1:RW",
        ["hkeys"] = "1:R",
        ["hlen"] = "1:0",
        ["hmget"] = "1:R",
        ["hmset"] = "1:W",
        ["hrandfield"] = "1:R",
        ["hscan"] = "1:R",
        ["hset"] = "1:W",
        ["hsetnx"] = "1:W",
        ["hstrlen"] = "1:0",
        ["hvals"] = "1:R",
        ["incr"] = "1:RW",
        ["incrby"] = "1:RW",
        ["incrbyfloat"] = "1:RW",
        ["lindex"] = "1:R",
        ["linsert"] = "1:W",
        ["llen"] = "1:0",
        ["lmove"] = "1:RW 2:W",
        ["lmpop"] = "1:RW",
        ["lpop"] = "1:RW",
        ["lpos"] = "1:R",
        ["lpush"] = "1:W",
        ["lpushx"] = "1:W",
        ["lrange"] = "1:R",
        ["lrem"] = "1:W",
        ["lset"] = "1:W",
        ["ltrim"] = "1:W",
        ["memory|usage"] = "2:0",
        ["mget"] = "1:R",
        ["move"] = "1:RW",
        ["mset"] = "1:W",
        ["msetnx"] = "1:W",
        ["object|encoding"] = "2:0",
        ["object|freq"] = "2:0",
        ["object|idletime"] = "2:0",
        ["object|refcount"] = "2:0",
        ["persist"] = "1:W",
        ["pexpire"] = "1:W",
        ["pexpireat"] = "1:W",
        ["pexpiretime"] = "1:R",
        ["psetex"] = "1:W",
        ["pttl"] = "1:R",
        ["rename"] = "1:RW 2:W",
        ["renamenx"] = "1:RW 2:W",
        ["restore"] = "1:W",
        ["rpop"] = "1:RW",
        ["rpoplpush"] = "1:RW 2:W",
        ["rpush"] = "1:W",
        ["rpushx"] = "1:W",
        ["sadd"] = "1:W",
        ["scard"] = "1:0",
        ["sdiff"] = "1:R",
        ["sdiffstore"] = "1:W 2:R",
        ["set"] = "1:RW",
        ["setbit"] = "1:RW",
        ["setex"] = "1:W",
        ["setnx"] = "1:W",
        ["setrange"] = "1:W",
        ["sinter"] = "1:R",
        ["sintercard"] = "1:R",
        ["sinterstore"] = "1:W 2:R",
        ["sismember"] = "1:0",
        ["smembers"] = "1:R",
        ["smismember"] = "1:R",
        ["smove"] = "1:RW 2:W",
        ["spop"] = "1:RW",
        ["srandmember"] = "1:R",
        ["srem"] = "1:W",
        ["sscan"] = "1:R",
        ["strlen"] = "1:0",
        ["sunion"] = "1:R",
        ["sunionstore"] = "1:W 2:R",
        ["ttl"] = "1:R",
        ["type"] = "1:0",
        ["unlink"] = "1:W",
        ["watch"] = "1:0",
        ["zadd"] = "1:W",
        ["zcard"] = "1:0",
        ["zcount"] = "1:R",
        ["zdiff"] = "1:R",
        ["zdiffstore"] = "1:W 2:R",
        ["zincrby"] = "1:RW",
        ["zinter"] = "1:R",
        ["zintercard"] = "1:R",
        ["zinterstore"] = "1:W 2:R",
        ["zlexcount"] = "1:R",
        ["zmpop"] = "1:RW",
        ["zmscore"] = "1:R",
        ["zpopmax"] = "1:RW",
        ["zpopmin"] = "1:RW",
        ["zrandmember"] = "1:R",
        ["zrange"] = "1:R",
        ["zrangebylex"] = "1:R",
        ["zrangebyscore"] = "1:R",
        ["zrangestore"] = "1:W 2:R",
        ["zrank"] = "1:R",
        ["zrem"] = "1:W",
        ["zremrangebylex"] = "1:W",
        ["zremrangebyrank"] = "1:W",
        ["zremrangebyscore"] = "1:W",
        ["zrevrange"] = "1:R",
        ["zrevrangebylex"] = "1:R",
        ["zrevrangebyscore"] = "1:R",
        ["zrevrank"] = "1:R",
        ["zscan"] = "1:R",
        ["zscore"] = "1:R",
        ["zunion"] = "1:R",
        ["zunionstore"] = "1:W 2:R",
    };

    /// <summary>The key specs of a command (set on its row when the table is built), or null.</summary>
    public static AclKeySpec[]? For(string name)
    {
        if (!Specs.TryGetValue(name, out var text)) return null;
        return text.Split(' ').Select(part =>
        {
            int colon = part.IndexOf(':');
            var need = part[(colon + 1)..] switch
            {
                "R" => KeyPermission.Read,
                "W" => KeyPermission.Write,
                "RW" => KeyPermission.All,
                _ => (KeyPermission)0,
            };
            return new AclKeySpec(int.Parse(part[..colon], System.Globalization.CultureInfo.InvariantCulture), need);
        }).ToArray();
    }

    /// <summary>What the key at argument <paramref name="index"/> of <paramref name="cmd"/> needs.
    /// <paramref name="hasGet"/>: SET's GET option, which makes SET read its key too.</summary>
    public static KeyPermission Need(CommandDef cmd, int index, bool hasGet)
    {
        var specs = cmd.AclKeySpecs;
        if (specs == null) return (cmd.Flags & CommandFlags.Write) != 0 ? KeyPermission.Write : KeyPermission.Read;
        if (cmd.Name == "set") return hasGet ? KeyPermission.All : KeyPermission.Write;
        var need = specs[0].Need;
        foreach (var s in specs)
            if (s.Index <= index) need = s.Need;
        return need;
    }
}
