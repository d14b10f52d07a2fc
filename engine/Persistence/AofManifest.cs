// Redis 7's multi-part AOF layout (aof.c, "AOF manifest"): a directory (appenddirname) holding one base
// file (a snapshot: `<appendfilename>.<seq>.base.rdb`), incremental files with the commands logged after
// it (`<appendfilename>.<seq>.incr.aof`), and the manifest `<appendfilename>.manifest` listing them, one
// line per file: `file <name> seq <n> type <b|i|h>` (base, incremental, history). Loading replays the base
// and then the incremental files in manifest order; history files are leftovers of a rewrite.
using System.Globalization;
using System.Text;

namespace NativeKv.Engine.Persistence;

/// <summary>A persistence failure that must stop the server (the message is for the log).</summary>
public sealed class PersistenceException(string message) : Exception(message);

public sealed class AofManifest
{
    public sealed record AofFile(string Name, long Seq, char Type);

    public AofFile? Base;
    public readonly List<AofFile> Incrs = new();
    public readonly List<AofFile> History = new();

    public long MaxSeq => Math.Max(Base?.Seq ?? 0, Incrs.Count == 0 ? 0 : Incrs.Max(f => f.Seq));

    public static string ManifestName(string prefix) => prefix + ".manifest";
    public static string BaseName(string prefix, long seq) => string.Create(CultureInfo.InvariantCulture, $"{prefix}.{seq}.base.rdb");
    public static string IncrName(string prefix, long seq) => string.Create(CultureInfo.InvariantCulture, $"{prefix}.{seq}.incr.aof");

    /// <summary>Parses a manifest; throws PersistenceException on a malformed one.</summary>
    public static AofManifest Parse(string text, string path)
    {
        var m = new AofManifest();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            string line = raw.TrimEnd('\r').Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string? name = null, type = null;
            long seq = -1;
            if (words.Length % 2 != 0) throw Invalid(path, lineNo);
            for (int i = 0; i < words.Length; i += 2)
            {
                switch (words[i])
                {
                    case "file": name = words[i + 1]; break;
                    case "seq":
                        if (!long.TryParse(words[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out seq)) throw Invalid(path, lineNo);
                        break;
                    case "type": type = words[i + 1]; break;
                }
            }
            if (name == null || seq < 0 || type is not ("b" or "i" or "h") || name.Contains('/')) throw Invalid(path, lineNo);
            var f = new AofFile(name, seq, type[0]);
            switch (f.Type)
            {
                case 'b':
                    if (m.Base != null) throw new PersistenceException($"Found duplicate base file information in the AOF manifest {path}");
                    m.Base = f;
                    break;
                case 'i': m.Incrs.Add(f); break;
                default: m.History.Add(f); break;
            }
        }
        if (m.Base == null && m.Incrs.Count == 0) throw new PersistenceException($"Found an empty AOF manifest {path}");
        return m;
    }

    static PersistenceException Invalid(string path, int line) =>
        new($"Invalid AOF manifest file format in {path} at line {line}");

    public string Format()
    {
        var sb = new StringBuilder();
        if (Base != null) Line(sb, Base);
        foreach (var h in History) Line(sb, h);
        foreach (var i in Incrs) Line(sb, i);
        return sb.ToString();
    }

    static void Line(StringBuilder sb, AofFile f) =>
        sb.Append("file ").Append(f.Name).Append(" seq ").Append(f.Seq.ToString(CultureInfo.InvariantCulture)).Append(" type ").Append(f.Type).Append('\n');

    public void Save(string path) => FileSync.WriteAtomically(path, Encoding.UTF8.GetBytes(Format()));
}
