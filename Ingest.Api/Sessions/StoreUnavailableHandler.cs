using System.Globalization;
using System.Net.Sockets;
using Ingest.Api.Payloads;
using Ingest.Api.Problems;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingest.Api.Sessions;

/// <summary>
/// A read or an erasure that fails because Postgres is briefly out of reach (down, restarting, refusing connections, out of
/// resources, a timeout) is answered 503 <c>database-unavailable</c> with <c>Retry-After</c>, as a broker outage is on the
/// ingest side, instead of a generic 500: the client may simply try again. Other database errors stay 500.
/// </summary>
public sealed class StoreUnavailableHandler(IProblemDetailsService problems, IOptions<ApiOptions> api, ILogger<StoreUnavailableHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsTransient(exception) || httpContext.Response.HasStarted)
        {
            return false;
        }

        Log.StoreUnavailable(logger, httpContext.Request.Method, httpContext.Request.Path, exception.Message);
        httpContext.Response.StatusCode = ApiProblem.DatabaseUnavailable.Status;
        httpContext.Response.Headers.RetryAfter = api.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = ApiProblem.DatabaseUnavailable.Details("The session store cannot be reached right now; retry after the Retry-After delay."),
            Exception = exception,
        });
    }

    /// <summary>
    /// Npgsql's own verdict, a connection or I/O failure or a timeout underneath, or a SQLSTATE of class 08 (connection),
    /// 53 (insufficient resources) or 57P (shutting down, cannot connect now) — the classes the worker retries too.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException pg => pg.IsTransient
            || pg.SqlState.StartsWith("08", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is TimeoutException or IOException or SocketException,
        _ => false,
    };
}
