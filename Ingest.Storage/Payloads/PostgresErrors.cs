using System.Net.Sockets;
using Npgsql;

namespace Ingest.Storage.Payloads;

/// <summary>What a failed write means for the payloads in it.</summary>
public enum StoreErrorKind
{
    /// <summary>The database is briefly unavailable or the transaction lost a race: retry the same batch.</summary>
    Transient,

    /// <summary>A payload's data is refused (SQLSTATE class 22 or 23): isolate it and dead-letter it.</summary>
    Data,

    /// <summary>
    /// The database refuses for a reason an operator must fix (missing table, permission, disk):
    /// retried like a transient error, because dead-lettering good payloads would lose them.
    /// </summary>
    Persistent,

    /// <summary>Not a database error at all (a bug): let it surface.</summary>
    Unexpected,
}

/// <summary>Classifies exceptions from Npgsql by SQLSTATE.</summary>
public static class PostgresErrors
{
    /// <summary>Classifies <paramref name="exception"/>.</summary>
    public static StoreErrorKind Classify(Exception exception) => exception switch
    {
        PostgresException pg => ClassifySqlState(pg.SqlState, pg.IsTransient),
        NpgsqlException npgsql when npgsql.IsTransient || npgsql.InnerException is TimeoutException or IOException or SocketException
            => StoreErrorKind.Transient,
        NpgsqlException => StoreErrorKind.Persistent,
        TimeoutException or IOException or SocketException => StoreErrorKind.Transient,
        _ => StoreErrorKind.Unexpected,
    };

    /// <summary>Classifies a SQLSTATE; <paramref name="reportedTransient"/> is Npgsql's own verdict.</summary>
    public static StoreErrorKind ClassifySqlState(string sqlState, bool reportedTransient = false)
    {
        // https://www.postgresql.org/docs/current/errcodes-appendix.html
        if (sqlState.StartsWith("22", StringComparison.Ordinal) || sqlState.StartsWith("23", StringComparison.Ordinal))
        {
            return StoreErrorKind.Data;
        }

        return reportedTransient
            || sqlState.StartsWith("08", StringComparison.Ordinal) // connection exception
            || sqlState.StartsWith("53", StringComparison.Ordinal) // insufficient resources
            || sqlState.StartsWith("57P", StringComparison.Ordinal) // admin/crash shutdown, cannot connect now
            || sqlState is "40001" // serialization_failure
                or "40P01" // deadlock_detected
                or "55P03" // lock_not_available
                or "57014" // query_canceled: statement_timeout
            ? StoreErrorKind.Transient
            : StoreErrorKind.Persistent;
    }
}
