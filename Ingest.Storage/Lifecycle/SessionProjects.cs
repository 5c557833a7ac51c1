namespace Ingest.Storage.Lifecycle;

/// <summary>The projects that have a row in <c>ingest.sessions</c>, found without reading the table whole.</summary>
internal static class SessionProjects
{
    /// <summary>
    /// A CTE <c>p(project)</c>: a loose index scan of the sessions' primary key, one probe per project, ending in a null row
    /// (select <c>WHERE project IS NOT NULL</c>).
    /// </summary>
    public const string Cte =
        """
        WITH RECURSIVE p(project) AS (
            (SELECT project FROM ingest.sessions ORDER BY project LIMIT 1)
            UNION ALL
            SELECT (SELECT s.project FROM ingest.sessions s WHERE s.project > p.project ORDER BY s.project LIMIT 1)
            FROM p WHERE p.project IS NOT NULL)
        """;
}
