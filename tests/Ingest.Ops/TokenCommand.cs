using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Ingest.Contracts.Identity;
using Ingest.Contracts.Tokens;

namespace Ingest.Ops;

/// <summary>
/// <c>token mint --project P --session S [--ttl 1h]</c>: a session write token, as a site's backend mints it, for trying a
/// project that requires them (curl, the load generator) or for a backend that shells out. The secret comes from an
/// environment variable (<c>INGEST_WRITE_TOKEN_SECRET</c>, or the one <c>--secret-env</c> names), never from an argument:
/// arguments show in <c>ps</c> and shell history.
/// </summary>
public static class TokenCommand
{
    public const string DefaultSecretVariable = "INGEST_WRITE_TOKEN_SECRET";

    public static Command Create(Option<bool> json, TextWriter output)
    {
        var project = new Option<string>("--project") { Description = "project id", Required = true };
        var session = new Option<string>("--session") { Description = "session id", Required = true };
        var ttl = new Option<TimeSpan>("--ttl")
        {
            Description = "lifetime: 90s, 30m, 1h, 1d or hh:mm:ss (at most the project's WriteTokens:MaxLifetime, 1 day by default)",
            DefaultValueFactory = _ => TimeSpan.FromHours(1),
            CustomParser = ParseTtl,
        };
        var secretEnv = new Option<string>("--secret-env") { Description = "environment variable holding the project's secret", DefaultValueFactory = _ => DefaultSecretVariable };
        var mint = new Command("mint", "mint a session write token (X-Ingest-Session-Token) for one session") { project, session, ttl, secretEnv };
        mint.Validators.Add(r =>
        {
            if (r.GetValue(project) is { } p && !Ids.IsValidProjectId(p))
            {
                r.AddError($"--project '{p}' is not a project id (^[A-Za-z0-9_-]{{1,{Ids.MaxProjectIdLength}}}$)");
            }
            else if (r.GetValue(session) is { } s && !Ids.IsValidSessionId(s))
            {
                r.AddError($"--session '{s}' is not a session id (^[A-Za-z0-9_-]{{1,{Ids.MaxSessionIdLength}}}$)");
            }
        });
        mint.SetAction(p => Mint(p.GetValue(project)!, p.GetValue(session)!, p.GetValue(ttl), p.GetValue(secretEnv)!, p.GetValue(json), output));
        return new Command("token", "session write tokens") { mint };
    }

    private static int Mint(string project, string session, TimeSpan ttl, string secretVariable, bool json, TextWriter output)
    {
        var secret = Environment.GetEnvironmentVariable(secretVariable);
        if (string.IsNullOrEmpty(secret))
        {
            throw new OpsException($"no secret: set {secretVariable} to one of Ingest:Projects:{project}:WriteTokens:Secrets");
        }

        if (secret.Length < SessionWriteToken.MinSecretLength)
        {
            throw new OpsException($"{secretVariable} has {secret.Length} characters; a write token secret has at least {SessionWriteToken.MinSecretLength}");
        }

        var expiresAt = DateTimeOffset.UtcNow + ttl;
        var token = SessionWriteToken.Mint(secret, project, session, expiresAt);
        new OpsContext(null, null, "", json, output).Print(
            new { project, sessionId = session, token, expiresAt = DateTimeOffset.FromUnixTimeSeconds(expiresAt.ToUnixTimeSeconds()), header = SessionWriteToken.Header },
            w => w.WriteLine(token));
        return 0;
    }

    private static TimeSpan ParseTtl(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value.Trim() : "";
        TimeSpan? value = text.Length > 1 && long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 366 * 86_400
            ? text[^1] switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => null,
            }
            : TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
        if (value is not { } ttl || ttl <= TimeSpan.Zero)
        {
            result.AddError($"--ttl '{text}' is not a positive duration (90s, 30m, 1h, 1d or hh:mm:ss)");
            return default;
        }

        return ttl;
    }
}
