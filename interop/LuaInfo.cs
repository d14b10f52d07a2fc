// Facts about the linked Lua runtime (for `nativekv --version`). Creating and closing one state proves
// that the statically linked library is really there.
namespace NativeKv.Interop;

public static class LuaInfo
{
    public static string Version()
    {
        using var lua = new KeraLua.Lua(openLibs: false);
        double v = lua.Version(); // 504 for Lua 5.4
        int major = (int)v / 100, minor = (int)v % 100;
        return $"Lua {major}.{minor}";
    }
}
