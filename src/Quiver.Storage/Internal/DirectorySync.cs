using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Quiver.Storage.Internal;

/// <summary>
/// Makes directory entry changes (create, rename, delete) durable. .NET has no API for fsyncing a directory, so on
/// Unix this opens the directory read-only and calls fsync(2) on it. On Windows directory metadata is journaled by
/// NTFS and there is nothing to do.
/// </summary>
internal static partial class DirectorySync
{
    public static void Fsync(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = NativeMethods.Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Cannot open directory '{directory}' to fsync it.", new Win32Exception(errno));
        }

        try
        {
            if (NativeMethods.FSync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync of directory '{directory}' failed.", new Win32Exception(errno));
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        internal static partial int FSync(int fd);

        [LibraryImport("libc", EntryPoint = "close")]
        internal static partial int Close(int fd);
    }
}
