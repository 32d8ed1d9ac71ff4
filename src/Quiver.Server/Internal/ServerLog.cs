using System.Net;
using Microsoft.Extensions.Logging;

namespace Quiver.Server.Internal;

internal static partial class ServerLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Recovering storage at {Path}")]
    public static partial void Recovering(ILogger logger, string path);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Recovered {Count} collections in {Milliseconds:F0} ms")]
    public static partial void Recovered(ILogger logger, int count, double milliseconds);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Quiver listening on {Address} (REST on service.http_port, gRPC on service.grpc_port)")]
    public static partial void Listening(ILogger logger, string address);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Shutting down: flushing collections")]
    public static partial void ShuttingDown(ILogger logger);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Stopped cleanly")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Critical, Message = "Cannot start: storage at {Path} could not be recovered: {Reason}")]
    public static partial void RecoveryFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Error, Message = "Background snapshot operation on {Target} failed")]
    public static partial void SnapshotTaskFailed(ILogger logger, Exception exception, string target);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Restoring the full-storage snapshot {Path}")]
    public static partial void RestoringSnapshot(ILogger logger, string path);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "The full-storage snapshot {Path} was already restored into this storage; skipped (remove --storage-snapshot)")]
    public static partial void SnapshotAlreadyRestored(ILogger logger, string path);

    public static IPAddress ParseAddress(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        "0.0.0.0" or "*" => IPAddress.Any,
        "::" => IPAddress.IPv6Any,
        _ => IPAddress.TryParse(host, out var ip) ? ip : throw new InvalidOperationException($"Invalid configuration: service.host '{host}' is not an IP address"),
    };
}
