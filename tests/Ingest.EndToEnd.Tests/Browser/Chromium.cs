using Microsoft.Playwright;

namespace Ingest.EndToEnd.Tests.Browser;

/// <summary>
/// Debian's Chromium driven by Playwright's bundled driver (offline: no browser download). tests/run.sh installs the
/// <c>chromium</c> package when it is missing.
/// </summary>
public static class Chromium
{
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        var executable = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new Xunit.Sdk.XunitException("Chromium is not installed: tests/run.sh installs Debian's 'chromium' package.");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = executable,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic"],
            });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Console errors and uncaught exceptions of a page, for a test to assert there were none.</summary>
    public static List<string> CollectErrors(IPage page)
    {
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (errors)
                {
                    errors.Add($"console.error: {message.Text} ({message.Location})");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (errors)
            {
                errors.Add($"uncaught: {error}");
            }
        };
        return errors;
    }
}
