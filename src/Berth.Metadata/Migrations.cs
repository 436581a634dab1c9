namespace Berth.Metadata;

/// <summary>
/// The schema, as an ordered list of migrations; the index + 1 is the schema version recorded in the
/// database. Append, never edit a released step. Times are Unix milliseconds; digests are "alg:hex" text.
/// </summary>
internal static class Migrations
{
    public static readonly string[] Steps =
    [
        """
        CREATE TABLE repositories (
            name TEXT PRIMARY KEY,
            created INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- Every blob committed to the content store (layers, configs and manifests).
        CREATE TABLE blobs (
            digest TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            created INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- The blobs a repository may serve: uploaded, mounted or referenced there.
        CREATE TABLE repository_blobs (
            repository TEXT NOT NULL REFERENCES repositories(name),
            digest TEXT NOT NULL REFERENCES blobs(digest),
            created INTEGER NOT NULL,
            PRIMARY KEY (repository, digest)
        ) WITHOUT ROWID;
        CREATE INDEX repository_blobs_digest ON repository_blobs(digest);

        CREATE TABLE manifests (
            repository TEXT NOT NULL REFERENCES repositories(name),
            digest TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            artifact_type TEXT,
            subject TEXT,
            annotations TEXT,
            created INTEGER NOT NULL,
            PRIMARY KEY (repository, digest)
        ) WITHOUT ROWID;
        CREATE INDEX manifests_subject ON manifests(repository, subject) WHERE subject IS NOT NULL;

        -- What each manifest points at (config, layers, child manifests), for garbage collection.
        CREATE TABLE manifest_references (
            repository TEXT NOT NULL,
            manifest TEXT NOT NULL,
            target TEXT NOT NULL,
            PRIMARY KEY (repository, manifest, target)
        ) WITHOUT ROWID;
        CREATE INDEX manifest_references_target ON manifest_references(target);

        CREATE TABLE tags (
            repository TEXT NOT NULL,
            name TEXT NOT NULL,
            digest TEXT NOT NULL,
            updated INTEGER NOT NULL,
            PRIMARY KEY (repository, name)
        ) WITHOUT ROWID;
        CREATE INDEX tags_digest ON tags(repository, digest);

        CREATE TABLE uploads (
            id TEXT PRIMARY KEY,
            repository TEXT NOT NULL,
            size INTEGER NOT NULL,
            started INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            committing TEXT
        ) WITHOUT ROWID;
        """,
    ];
}
