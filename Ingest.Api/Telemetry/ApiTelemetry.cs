using System.Diagnostics;

namespace Ingest.Api.Telemetry;

/// <summary>The API's one <see cref="ActivitySource"/>; its <c>Meter</c> has the same name (<see cref="ApiMetrics"/>).</summary>
public static class ApiTelemetry
{
    public const string Name = "Ingest.Api";

    public static readonly ActivitySource Source = new(Name);
}
