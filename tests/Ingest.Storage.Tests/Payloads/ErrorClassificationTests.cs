using Ingest.Contracts.Envelope;
using Ingest.Storage.Payloads;
using Npgsql;

namespace Ingest.Storage.Tests.Payloads;

public sealed class ErrorClassificationTests
{
    [Theory]
    [InlineData("08006", StoreErrorKind.Transient)] // connection_failure
    [InlineData("08001", StoreErrorKind.Transient)]
    [InlineData("53300", StoreErrorKind.Transient)] // too_many_connections
    [InlineData("53100", StoreErrorKind.Transient)] // disk_full
    [InlineData("57P01", StoreErrorKind.Transient)] // admin_shutdown
    [InlineData("57P03", StoreErrorKind.Transient)] // cannot_connect_now
    [InlineData("40001", StoreErrorKind.Transient)] // serialization_failure
    [InlineData("40P01", StoreErrorKind.Transient)] // deadlock_detected
    [InlineData("57014", StoreErrorKind.Transient)] // query_canceled (statement_timeout)
    [InlineData("22021", StoreErrorKind.Data)] // invalid byte sequence (NUL in text)
    [InlineData("22001", StoreErrorKind.Data)] // string_data_right_truncation
    [InlineData("23502", StoreErrorKind.Data)] // not_null_violation
    [InlineData("23514", StoreErrorKind.Data)] // check_violation
    [InlineData("42P01", StoreErrorKind.Persistent)] // undefined_table
    [InlineData("42501", StoreErrorKind.Persistent)] // insufficient_privilege
    public void Sql_states_are_classified(string sqlState, StoreErrorKind expected)
    {
        var exception = new PostgresException("test", "ERROR", "ERROR", sqlState);

        Assert.Equal(expected, PostgresErrors.Classify(exception));
    }

    [Fact]
    public void Connection_level_failures_and_timeouts_are_transient()
    {
        Assert.Equal(StoreErrorKind.Transient, PostgresErrors.Classify(new NpgsqlException("boom", new TimeoutException())));
        Assert.Equal(StoreErrorKind.Transient, PostgresErrors.Classify(new NpgsqlException("boom", new IOException())));
        Assert.Equal(StoreErrorKind.Transient, PostgresErrors.Classify(new TimeoutException()));
    }

    [Fact]
    public void Other_exceptions_are_unexpected()
    {
        Assert.Equal(StoreErrorKind.Unexpected, PostgresErrors.Classify(new InvalidOperationException()));
        Assert.Equal(StoreErrorKind.Persistent, PostgresErrors.Classify(new NpgsqlException("not transient")));
    }

    [Fact]
    public void Duplicates_are_told_apart_by_payload_id_then_checksum()
    {
        var envelope = new PayloadEnvelope(
            "p", "s", 1, "application/json", "ingest-lz4-v1", DateTimeOffset.UnixEpoch, Guid.NewGuid(), 3, 0xF000_0000_0000_0001);
        var signed = unchecked((long)envelope.Checksum);

        Assert.Equal(StoreOutcome.Redelivery, Duplicates.Classify(envelope.PayloadId, signed, envelope));
        Assert.Equal(StoreOutcome.ClientRetry, Duplicates.Classify(Guid.NewGuid(), signed, envelope));
        Assert.Equal(StoreOutcome.ConflictingDuplicate, Duplicates.Classify(Guid.NewGuid(), signed + 1, envelope));
    }
}
