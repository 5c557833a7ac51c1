using System.Globalization;
using Ingest.Contracts.Identity;
using Ingest.Contracts.Tokens;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Auth;

/// <summary>
/// Start-up validation of <see cref="IngestOptions"/>. Every message names the configuration key;
/// none repeats a configured hash, in case someone pasted a key where its hash belongs.
/// </summary>
public sealed class IngestOptionsValidator : IValidateOptions<IngestOptions>
{
    /// <summary>Kafka's own limit on topic names.</summary>
    private const int MaxTopicLength = 249;

    public ValidateOptionsResult Validate(string? name, IngestOptions options)
    {
        var failures = new List<string>();
        ValidateTopic(options.Topic, failures);

        var seenHashes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var seenSecrets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (projectId, project) in options.Projects)
        {
            var prefix = $"{IngestOptions.Section}:Projects:{projectId}";
            if (!Ids.IsValidProjectId(projectId))
            {
                failures.Add($"{prefix}: '{projectId}' is not a valid project id (^[A-Za-z0-9_-]{{1,{Ids.MaxProjectIdLength}}}$).");
            }

            for (var i = 0; i < project.Keys.Count; i++)
            {
                ValidateKey($"{prefix}:Keys:{i.ToString(CultureInfo.InvariantCulture)}", project.Keys[i], seenHashes, failures);
            }

            project.Limits?.Validate($"{prefix}:Limits", isKey: false, failures);
            for (var i = 0; i < project.Keys.Count; i++)
            {
                project.Keys[i].Limits?.Validate($"{prefix}:Keys:{i.ToString(CultureInfo.InvariantCulture)}:Limits", isKey: true, failures);
            }

            for (var i = 0; i < project.AllowedOrigins.Count; i++)
            {
                if (ProjectOrigins.Normalize(project.AllowedOrigins[i]) is null)
                {
                    failures.Add(
                        $"{prefix}:AllowedOrigins:{i.ToString(CultureInfo.InvariantCulture)}: '{project.AllowedOrigins[i]}' is not an origin " +
                        "(scheme://host[:port] with http or https, no path).");
                }
            }

            ValidateWriteTokens($"{prefix}:WriteTokens", project.WriteTokens, seenSecrets, failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateTopic(string? topic, List<string> failures)
    {
        var valid = !string.IsNullOrEmpty(topic)
            && topic.Length <= MaxTopicLength
            && topic is not "." and not ".."
            && topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
        if (!valid)
        {
            failures.Add($"{IngestOptions.Section}:Topic: '{topic}' is not a Kafka topic name (1-{MaxTopicLength} of [A-Za-z0-9._-]).");
        }
    }

    /// <summary>Longest <c>MaxLifetime</c>: a write token is meant to be short-lived, like a pre-signed URL.</summary>
    private static readonly TimeSpan MaxTokenLifetime = TimeSpan.FromDays(7);

    private static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(10);

    private static void ValidateWriteTokens(string key, WriteTokenOptions options, Dictionary<string, string> seenSecrets, List<string> failures)
    {
        if (options.Required && options.Secrets.Count == 0)
        {
            failures.Add($"{key}:Required is true but {key}:Secrets has none; add at least one secret (e.g. openssl rand -base64 32).");
        }

        for (var i = 0; i < options.Secrets.Count; i++)
        {
            // Never the secret itself, nor any part of it, in a message.
            var name = $"{key}:Secrets:{i.ToString(CultureInfo.InvariantCulture)}";
            var secret = options.Secrets[i] ?? "";
            if (secret.Length < SessionWriteToken.MinSecretLength)
            {
                failures.Add(
                    $"{name} has {secret.Length} characters; a write token secret needs at least {SessionWriteToken.MinSecretLength} " +
                    "(e.g. openssl rand -base64 32).");
            }
            else if (!seenSecrets.TryAdd(secret, name))
            {
                failures.Add($"{name} is the same secret as {seenSecrets[secret]}; every project needs secrets of its own.");
            }
        }

        if (options.MaxLifetime <= TimeSpan.Zero || options.MaxLifetime > MaxTokenLifetime)
        {
            failures.Add($"{key}:MaxLifetime must be more than 0 and at most {MaxTokenLifetime}; got {options.MaxLifetime}.");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > MaxClockSkew)
        {
            failures.Add($"{key}:ClockSkew must be between 0 and {MaxClockSkew}; got {options.ClockSkew}.");
        }
    }

    private static void ValidateKey(string key, ApiKeyOptions options, Dictionary<string, string> seenHashes, List<string> failures)
    {
        var hash = options.Sha256?.Trim() ?? "";
        if (hash.Length != 64 || !hash.All(char.IsAsciiHexDigit))
        {
            failures.Add($"{key}:Sha256 must be 64 hex digits (the SHA-256 of the key); got {hash.Length} characters.");
        }
        else if (!seenHashes.TryAdd(hash, key))
        {
            failures.Add($"{key}:Sha256 is the same key as {seenHashes[hash]}; one key must map to one project and scope set.");
        }

        if (!ApiScope.TryParse(options.Scopes, out _, out var unknown))
        {
            failures.Add(unknown is null or ""
                ? $"{key}:Scopes is empty; use {ApiScope.Usage}."
                : $"{key}:Scopes has unknown scope '{unknown}'; use {ApiScope.Usage}.");
        }
    }
}
