using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace Quiver.Server.Tests.Infrastructure;

/// <summary>
/// librdkafka's built-in mock cluster (no Kafka broker can be installed here): real Kafka wire protocol on loopback
/// ports, owned by a client handle in the test process. Used to test the connector's logic (commits after durable
/// writes, rebalances, dead letters), not Kafka itself.
/// </summary>
public sealed partial class KafkaMockCluster : IDisposable
{
    private readonly IntPtr _owner;
    private readonly IntPtr _cluster;

    static KafkaMockCluster()
    {
        // Bind the C functions to the same native library Confluent.Kafka loaded (its bundled build, or the
        // fallback it picks on Debian 12 where the bundled one lacks libsasl2).
        NativeLibrary.SetDllImportResolver(typeof(KafkaMockCluster).Assembly, (name, _, _) =>
        {
            if (name != "librdkafka")
                return IntPtr.Zero;
            var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
            foreach (var file in new[] { "librdkafka.so", "centos8-librdkafka.so" })
            {
                if (NativeLibrary.TryLoad(Path.Combine(native, file), out var handle))
                    return handle;
            }

            return IntPtr.Zero;
        });
    }

    public KafkaMockCluster(int brokers = 3)
    {
        // Confluent.Kafka loads the native library; a handle of our own owns the cluster.
        Library.Load();
        var error = new byte[512];
        _owner = KafkaNew(0, ConfNew(), error, error.Length);
        if (_owner == IntPtr.Zero)
            throw new InvalidOperationException($"rd_kafka_new: {Encoding.UTF8.GetString(error).TrimEnd('\0')}");
        _cluster = MockClusterNew(_owner, brokers);
        if (_cluster == IntPtr.Zero)
            throw new InvalidOperationException("librdkafka started no mock cluster");
        BootstrapServers = Marshal.PtrToStringUTF8(MockClusterBootstraps(_cluster))!;
        // A joining consumer is given partitions at once, not after the default 3 s delay.
        _ = GroupInitialRebalanceDelay(_cluster, 0);
    }

    public string BootstrapServers { get; }

    public void CreateTopic(string name, int partitions)
    {
        var error = TopicCreate(_cluster, name, partitions, 1);
        if (error != 0)
            throw new InvalidOperationException($"creating topic {name}: librdkafka error {error}");
    }

    public void Dispose()
    {
        MockClusterDestroy(_cluster);
        KafkaDestroy(_owner);
    }

    [LibraryImport("librdkafka", EntryPoint = "rd_kafka_conf_new")]
    private static partial IntPtr ConfNew();

    [LibraryImport("librdkafka", EntryPoint = "rd_kafka_new")]
    private static partial IntPtr KafkaNew(int type, IntPtr conf, [Out] byte[] errstr, nint errstrSize);

    [LibraryImport("librdkafka", EntryPoint = "rd_kafka_destroy")]
    private static partial void KafkaDestroy(IntPtr rk);

    [LibraryImport("librdkafka", EntryPoint = "rd_kafka_mock_cluster_new")]
    private static partial IntPtr MockClusterNew(IntPtr rk, int brokers);

    [LibraryImport("librdkafka", EntryPoint = "rd_kafka_mock_cluster_destroy")]
    private static partial void MockClusterDestroy(IntPtr cluster);

    [LibraryImport("librdkafka", EntryPoint = "rd_kafka_mock_cluster_bootstraps")]
    private static partial IntPtr MockClusterBootstraps(IntPtr cluster);

    [LibraryImport("librdkafka", EntryPoint = "rd_kafka_mock_topic_create", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int TopicCreate(IntPtr cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport("librdkafka", EntryPoint = "rd_kafka_mock_group_initial_rebalance_delay_ms")]
    private static partial int GroupInitialRebalanceDelay(IntPtr cluster, int delayMs);
}
