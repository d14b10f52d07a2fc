namespace NativeKv.Tests;
