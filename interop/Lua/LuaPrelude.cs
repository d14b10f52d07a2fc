// The prelude's Lua source (prelude.lua, embedded in the assembly), read once.
namespace NativeKv.Interop.Lua;

internal static class LuaPrelude
{
    static byte[]? s_code;

    public static byte[] Code => s_code ??= Read();

    static byte[] Read()
    {
        using var stream = typeof(LuaPrelude).Assembly.GetManifestResourceStream("NativeKv.Interop.Lua.prelude.lua")
            ?? throw new InvalidOperationException("embedded resource prelude.lua is missing");
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return ms.ToArray();
    }
}
