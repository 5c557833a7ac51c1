using Microsoft.AspNetCore.Builder;

namespace Ingest.Hosting;

/// <summary>How the API and the worker create their host.</summary>
public static class IngestHost
{
    /// <summary>
    /// <see cref="WebApplication.CreateBuilder(string[])"/> with the content root at the executable's own folder, not the
    /// working directory: <c>appsettings.json</c> (the log-level defaults) ships beside the binary and must apply however
    /// the process is started (the image's <c>/app</c>, <c>docker/up.sh</c> from the repository root, a test's folder).
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args) =>
        WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
}
