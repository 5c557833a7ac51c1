using System.Globalization;
using Ingest.Contracts.Identity;
using Ingest.Storage.Reading;
using Npgsql;

namespace Ingest.Ops;

/// <summary><c>sessions show ID --project P</c>: what the store holds for a session, in applied order.</summary>
public static class SessionsCommand
{
    public static async Task<int> ShowAsync(OpsContext context, string project, string sessionId, int limit, CancellationToken cancellationToken)
    {
        if (!Ids.IsValidProjectId(project) || !Ids.IsValidSessionId(sessionId))
        {
            throw new OpsException("project and session ids are 1-64 / 1-128 characters of A-Z a-z 0-9 _ -");
        }

        await using var source = NpgsqlDataSource.Create(context.Database);
        List<AppliedPayload> rows;
        try
        {
            rows = await new SessionReader(source, context.Retention).ListAppliedAsync(project, sessionId, limit, cancellationToken);
        }
        catch (NpgsqlException ex)
        {
            throw new OpsException("cannot read the store", ex);
        }

        if (rows.Count == 0)
        {
            throw new OpsException($"project {project} has no stored payloads for session {sessionId}");
        }

        context.Print(new { project, sessionId, payloads = rows }, w =>
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"session {project}/{sessionId}: {rows.Count}{(rows.Count == limit ? "+" : "")} payload(s), {rows.Sum(r => r.Length)} bytes, partition {rows[0].Partition}"));
            w.WriteLine("  position      seq      bytes  offset   received → stored");
            foreach (var r in rows)
            {
                w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {r.Position,8} {r.Seq,8} {r.Length,10} {r.Offset,7}   {r.ReceivedAt:HH:mm:ss.fff} → {r.StoredAt:HH:mm:ss.fff} ({(r.StoredAt - r.ReceivedAt).TotalMilliseconds:0} ms)"));
            }
        });
        return 0;
    }
}
