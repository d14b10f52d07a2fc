namespace NativeKv.Engine;
