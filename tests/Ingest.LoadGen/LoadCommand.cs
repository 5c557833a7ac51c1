using System.CommandLine;

namespace Ingest.LoadGen;

/// <summary>The command line of <c>ingest-loadgen</c>.</summary>
public static class LoadCommand
{
    public static RootCommand Create(Func<LoadOptions, CancellationToken, Task<int>> run)
    {
        var url = new Option<string>("--url") { Description = "API base URL", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var key = new Option<string>("--key") { Description = "API key with scopes ingest (and read for --verify)", DefaultValueFactory = _ => "dev-ingest-key" };
        var sessions = new Option<int>("--sessions") { Description = "concurrent sessions", DefaultValueFactory = _ => 20 };
        var payloads = new Option<int>("--payloads") { Description = "payloads per session, sent one after another", DefaultValueFactory = _ => 50 };
        var size = new Option<string>("--size") { Description = "payload size: 512, 10KB, 1MiB … or 'longtail' (10 KB … --max-size)", DefaultValueFactory = _ => "10KB" };
        var maxSize = new Option<string>("--max-size") { Description = "largest payload for --size longtail", DefaultValueFactory = _ => "100MiB" };
        var rate = new Option<double>("--rate") { Description = "target payloads per second over all sessions; 0 = as fast as possible", DefaultValueFactory = _ => 0 };
        var verify = new Option<bool>("--verify") { Description = "read everything back and check count, per-session order and checksums" };
        var verifyTimeout = new Option<int>("--verify-timeout") { Description = "seconds to wait for the worker to store everything", DefaultValueFactory = _ => 120 };
        var seed = new Option<int>("--seed") { Description = "seed for sizes and content", DefaultValueFactory = _ => 1 };
        var prefix = new Option<string>("--session-prefix") { Description = "session id prefix (default: unique per run)" };
        var attempts = new Option<int>("--max-attempts") { Description = "attempts per payload on 429/503/network errors", DefaultValueFactory = _ => 8 };
        var json = new Option<bool>("--json") { Description = "print the summary as JSON" };

        var root = new RootCommand("Recording clients streaming sessions into the Ingest API.")
        {
            url, key, sessions, payloads, size, maxSize, rate, verify, verifyTimeout, seed, prefix, attempts, json,
        };
        root.SetAction(async (parse, token) =>
        {
            var error = Validate(parse, url, sessions, payloads, rate, attempts, verifyTimeout, maxSize, size, prefix, out var spec);
            if (error is not null)
            {
                await Console.Error.WriteLineAsync($"ingest-loadgen: {error}");
                return 2;
            }

            var baseUrl = parse.GetValue(url)!;
            var options = new LoadOptions(
                new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/"),
                parse.GetValue(key)!,
                parse.GetValue(sessions),
                parse.GetValue(payloads),
                spec!,
                parse.GetValue(rate),
                parse.GetValue(verify),
                TimeSpan.FromSeconds(parse.GetValue(verifyTimeout)),
                parse.GetValue(seed),
                parse.GetValue(prefix) ?? $"lg{DateTime.UtcNow:HHmmss}{Random.Shared.Next(1000):D3}",
                parse.GetValue(attempts),
                parse.GetValue(json));
            return await run(options, token);
        });
        return root;
    }

    private static string? Validate(
        ParseResult parse, Option<string> url, Option<int> sessions, Option<int> payloads, Option<double> rate,
        Option<int> attempts, Option<int> verifyTimeout, Option<string> maxSize, Option<string> size, Option<string> prefix,
        out SizeSpec? spec)
    {
        spec = null;
        if (!Uri.TryCreate(parse.GetValue(url), UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
        {
            return $"--url must be an absolute http(s) URL, got '{parse.GetValue(url)}'";
        }

        if (parse.GetValue(sessions) is < 1 or > 10_000)
        {
            return "--sessions must be 1 … 10000";
        }

        if (parse.GetValue(payloads) < 1)
        {
            return "--payloads must be at least 1";
        }

        if (parse.GetValue(rate) < 0)
        {
            return "--rate must be 0 (max) or positive";
        }

        if (parse.GetValue(attempts) < 1 || parse.GetValue(verifyTimeout) < 1)
        {
            return "--max-attempts and --verify-timeout must be at least 1";
        }

        if (!SizeSpec.TryParseBytes(parse.GetValue(maxSize) ?? "", out var max))
        {
            return $"invalid --max-size '{parse.GetValue(maxSize)}'";
        }

        if (!SizeSpec.TryParse(parse.GetValue(size) ?? "", max, out spec, out var error))
        {
            return error;
        }

        return parse.GetValue(prefix) is { } p && (p.Length is 0 or > 100 || p.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            ? "--session-prefix must be 1-100 characters of A-Z a-z 0-9 _ -"
            : null;
    }
}
