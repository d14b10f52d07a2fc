// Registers each aggregate type's memory hooks (free, size, deep copy) in ValueTypeHooks, once per
// process. ServerState's constructor calls EnsureRegistered, so every store (server or test) has them
// before the first aggregate value exists. A new type adds its RegisterHooks call here.
namespace NativeKv.Engine.Types;

public static class TypeRegistry
{
    /// <summary>The type initializer runs Register exactly once, and other callers wait for it.</summary>
    static readonly bool Registered = Register();

    public static bool EnsureRegistered() => Registered;

    static bool Register()
    {
        ListValue.RegisterHooks();
        HashValue.RegisterHooks();
        SetValue.Register();
        ZSetValue.Register();
        return true;
    }
}
