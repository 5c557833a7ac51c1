using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace Ingest.DevBroker;

/// <summary>
/// Raises a fatal error on a client with librdkafka's own test hook (<c>rd_kafka_test_fatal_error</c>, which
/// Confluent.Kafka does not expose): the client then fails exactly as after a real one (error callback with
/// <see cref="Error.IsFatal"/>, every queued and later message refused). Works on any broker, mock or real.
/// </summary>
public static unsafe class FatalErrors
{
    /// <summary>Raises <paramref name="error"/> on <paramref name="handle"/>'s client; <see cref="ErrorCode.NoError"/> when raised.</summary>
    public static ErrorCode Raise(Handle handle, ErrorCode error, string reason)
    {
        var property = typeof(Handle).GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("Confluent.Kafka.Handle has no LibrdkafkaHandle property any more.");
        var safeHandle = (SafeHandle)property.GetValue(handle)!;
        var export = (delegate* unmanaged<nint, int, byte*, int>)LibrdkafkaNative.Export("rd_kafka_test_fatal_error");
        var text = Encoding.UTF8.GetBytes(reason + "\0");
        fixed (byte* p = text)
        {
            return (ErrorCode)export(safeHandle.DangerousGetHandle(), (int)error, p);
        }
    }
}
