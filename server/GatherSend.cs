// One non-blocking sendmsg of three pieces (buffered replies + bulk header, a value in place, its CRLF):
// how a large GET reply reaches the socket without first being copied into the send buffer (Linux only;
// RespWriter.WriteValue, Connection.TrySend).
using System.Runtime.InteropServices;

namespace NativeKv.Server;

static unsafe partial class GatherSend
{
    const int MsgDontWait = 0x40;
    const int MsgNoSignal = 0x4000;

    [StructLayout(LayoutKind.Sequential)]
    struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", EntryPoint = "sendmsg")]
    private static partial nint SendMsg(int fd, MsgHdr* msg, int flags);

    static ReadOnlySpan<byte> CrLf => "\r\n"u8;

    /// <summary>Bytes the socket took of head, body and CRLF, in that order; 0 when it took none (full
    /// socket buffer, closed peer: the caller buffers everything as usual).</summary>
    public static long Send(int fd, byte* head, int headLength, byte* body, int bodyLength)
    {
        fixed (byte* crlf = CrLf)
        {
            IoVec* iov = stackalloc IoVec[3];
            iov[0] = new IoVec { Base = head, Length = (nuint)headLength };
            iov[1] = new IoVec { Base = body, Length = (nuint)bodyLength };
            iov[2] = new IoVec { Base = crlf, Length = 2 };
            MsgHdr msg = default;
            msg.Iov = iov;
            msg.IovLength = 3;
            nint n = SendMsg(fd, &msg, MsgDontWait | MsgNoSignal);
            return n > 0 ? n : 0;
        }
    }
}
