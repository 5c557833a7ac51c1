using System.Net;
using System.Net.Sockets;

namespace Ingest.Api.Tests.Hosting;

/// <summary>
/// A "broker" that takes connections and never answers, as a paused (SIGSTOPped) Kafka node does: the kernel completes
/// the handshakes into the listen backlog, requests sit in the socket buffers, every Kafka call waits for its timeout.
/// </summary>
public sealed class SilentBroker : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public SilentBroker()
    {
        _listener.Start(backlog: 64); // never accepted
    }

    public string BootstrapServers => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public void Dispose() => _listener.Dispose();
}
