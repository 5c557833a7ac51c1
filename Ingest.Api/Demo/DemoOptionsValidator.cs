using System.Security.Cryptography;
using System.Text;
using Ingest.Api.Auth;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Demo;

/// <summary>
/// Start-up validation of <see cref="DemoOptions"/> when the demo is enabled: its key must be an <c>ingest</c>-only key of
/// its project (a key that could read or erase is never put on a page), and the project must be one a browser page can
/// post to without a backend (allowed origins, no required session write tokens). Messages never repeat the key.
/// </summary>
public sealed class DemoOptionsValidator(IOptions<IngestOptions> ingest) : IValidateOptions<DemoOptions>
{
    public ValidateOptionsResult Validate(string? name, DemoOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        var prefix = DemoOptions.Section;
        if (string.IsNullOrWhiteSpace(options.Project))
        {
            failures.Add($"{prefix}:Project is required when {prefix}:Enabled is true: the project the demo page records into.");
        }

        if (string.IsNullOrEmpty(options.IngestKey))
        {
            failures.Add($"{prefix}:IngestKey is required when {prefix}:Enabled is true: a key of {prefix}:Project with the ingest scope only.");
        }

        if (failures.Count > 0)
        {
            return ValidateOptionsResult.Fail(failures);
        }

        var projects = ingest.Value.Projects;
        if (!projects.TryGetValue(options.Project!, out var project))
        {
            return ValidateOptionsResult.Fail($"{prefix}:Project '{options.Project}' is not one of {IngestOptions.Section}:Projects.");
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(options.IngestKey!)));
        var key = project.Keys.FirstOrDefault(k => string.Equals(k.Sha256?.Trim(), hash, StringComparison.OrdinalIgnoreCase));
        if (key is null)
        {
            failures.Add($"{prefix}:IngestKey is not a key of {IngestOptions.Section}:Projects:{options.Project}:Keys (no Sha256 there matches it).");
        }
        else if (!ApiScope.TryParse(key.Scopes, out var scopes, out _) || scopes != ApiScopes.Ingest)
        {
            failures.Add(
                $"{prefix}:IngestKey has the scopes '{key.Scopes}'; the demo page publishes its key to everyone who opens it, " +
                $"so it must have the {ApiScope.Ingest} scope only (add a key with Scopes={ApiScope.Ingest} to the project).");
        }

        if (project.AllowedOrigins.Count == 0)
        {
            failures.Add(
                $"{IngestOptions.Section}:Projects:{options.Project}:AllowedOrigins is empty: list the origin the demo page is opened at " +
                "(the API's own, e.g. http://127.0.0.1:8080), or the browser's posts are refused.");
        }

        if (project.WriteTokens.Required)
        {
            failures.Add(
                $"{IngestOptions.Section}:Projects:{options.Project}:WriteTokens:Required is true: the demo page has no backend to mint " +
                "session write tokens; use a project of its own without them.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
