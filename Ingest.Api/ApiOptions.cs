using Microsoft.Extensions.Options;

namespace Ingest.Api;

/// <summary>Limits of the HTTP API, bound from the <c>Api</c> configuration section.</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Largest payload accepted, counted after undoing <c>Content-Encoding</c>. Default 100 MiB (INTERFACE.md).</summary>
    public long MaxPayloadBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>
    /// How long Kafka may take to acknowledge a payload before the API answers 503; it becomes
    /// librdkafka's <c>message.timeout.ms</c>. Default 30 s.
    /// </summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Seconds sent in <c>Retry-After</c> with a 503. Default 5.</summary>
    public int RetryAfterSeconds { get; set; } = 5;
}

/// <summary>Start-up validation of <see cref="ApiOptions"/>; each message names the key.</summary>
public sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    /// <summary>Upper bound for <see cref="ApiOptions.MaxPayloadBytes"/>: 16 GiB, far above any sane payload.</summary>
    public const long MaxPayloadBytesCeiling = 16L * 1024 * 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var failures = new List<string>();
        if (options.MaxPayloadBytes is < 1 or > MaxPayloadBytesCeiling)
        {
            failures.Add($"{ApiOptions.Section}:MaxPayloadBytes must be between 1 and {MaxPayloadBytesCeiling}; got {options.MaxPayloadBytes}.");
        }

        // librdkafka takes message.timeout.ms as a 32-bit integer; 0 would mean "never time out".
        if (options.DeliveryTimeout < TimeSpan.FromMilliseconds(1) || options.DeliveryTimeout.TotalMilliseconds > int.MaxValue)
        {
            failures.Add($"{ApiOptions.Section}:DeliveryTimeout must be between 1 ms and {int.MaxValue} ms; got {options.DeliveryTimeout}.");
        }

        if (options.RetryAfterSeconds is < 1 or > 3600)
        {
            failures.Add($"{ApiOptions.Section}:RetryAfterSeconds must be between 1 and 3600; got {options.RetryAfterSeconds}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
