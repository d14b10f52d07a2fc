// What the engine needs from a scripting engine (implemented by interop/'s Lua host and wired by the
// server at startup). The engine owns the commands' table rows, argument checks shared by every
// engine, SCRIPT KILL / FUNCTION KILL and the transaction that makes a script atomic; the host owns the
// language: compiling, caching, running, and converting values both ways.
using NativeKv.Engine.Commands;

namespace NativeKv.Engine.Scripting;

public interface IScriptHost
{
    /// <summary>EVAL/EVALSHA/EVAL_RO/EVALSHA_RO: argument 1 is the body or SHA1, argument 2 numkeys
    /// (already checked: 0 ≤ numKeys ≤ argc - 3), the keys follow, then the arguments. Called on any
    /// thread: on an I/O thread (ScriptCommands.OnIoThread) the host must not wait for locks or run a
    /// script long; it defers to the thread pool (ScriptCommands.DeferToThreadPool) instead.</summary>
    void Eval(ref CommandContext c, bool bySha, bool readOnly, int numKeys);

    /// <summary>FCALL/FCALL_RO: the host looks the function up first ("Function not found" comes before
    /// any numkeys error, as in Redis), then checks numkeys with ScriptCommands.NumKeysOrReply.</summary>
    void FCall(ref CommandContext c, bool readOnly);

    // SCRIPT LOAD script
    void ScriptLoad(ref CommandContext c);

    // SCRIPT EXISTS sha1 [sha1 ...]
    void ScriptExists(ref CommandContext c);

    /// <summary>SCRIPT FLUSH (options already checked).</summary>
    void ScriptFlush();

    // FUNCTION LOAD [REPLACE] function-code
    void FunctionLoad(ref CommandContext c);

    // FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
    void FunctionList(ref CommandContext c);

    // FUNCTION DELETE library-name
    void FunctionDelete(ref CommandContext c);

    /// <summary>FUNCTION FLUSH (options already checked).</summary>
    void FunctionFlush();

    /// <summary>(libraries, functions) for FUNCTION STATS.</summary>
    (int Libraries, int Functions) FunctionCounts { get; }

    /// <summary>Bytes the script engine's VMs hold (INFO used_memory_lua / used_memory_scripts).</summary>
    long MemoryBytes { get; }

    /// <summary>Scripts in the EVAL cache (INFO number_of_cached_scripts).</summary>
    int CachedScripts { get; }
}
