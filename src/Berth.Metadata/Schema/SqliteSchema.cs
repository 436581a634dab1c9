namespace Berth.Metadata;

/// <summary>
/// The SQLite schema, as an ordered list of steps; the index + 1 is the schema version recorded in the database
/// (PRAGMA user_version), applied by <see cref="SqliteDatabase.OpenAsync"/>. Append, never edit a released step.
/// Times are Unix milliseconds; digests are "alg:hex" text. Another SQL dialect gets a sibling of this file.
/// </summary>
internal static class SqliteSchema
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
        """
        -- Users, robots and organisations share one set of names; users and organisations are also namespaces.
        CREATE TABLE accounts (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            password_hash TEXT,
            admin INTEGER NOT NULL DEFAULT 0,
            default_visibility TEXT NOT NULL DEFAULT 'private',
            created INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE org_members (
            organization TEXT NOT NULL,
            member TEXT NOT NULL,
            owner INTEGER NOT NULL,
            PRIMARY KEY (organization, member)
        ) WITHOUT ROWID;
        CREATE INDEX org_members_member ON org_members(member);

        CREATE TABLE teams (
            organization TEXT NOT NULL,
            name TEXT NOT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (organization, name)
        ) WITHOUT ROWID;

        CREATE TABLE team_members (
            organization TEXT NOT NULL,
            team TEXT NOT NULL,
            member TEXT NOT NULL,
            PRIMARY KEY (organization, team, member)
        ) WITHOUT ROWID;
        CREATE INDEX team_members_member ON team_members(member);

        -- A role (1 read, 2 write, 3 admin) on a namespace or a repository, for "user:NAME" or "team:ORG/TEAM".
        CREATE TABLE grants (
            target TEXT NOT NULL,
            namespace INTEGER NOT NULL,
            subject TEXT NOT NULL,
            role INTEGER NOT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (target, namespace, subject)
        ) WITHOUT ROWID;
        CREATE INDEX grants_subject ON grants(subject);

        -- Visibility is recorded per repository once set or once its namespace's default changes.
        CREATE TABLE repository_settings (
            name TEXT PRIMARY KEY,
            visibility TEXT,
            description TEXT,
            updated INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- Access tokens: only a hash of the secret is kept. Scopes are "pattern:actions" separated by spaces.
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            account TEXT NOT NULL,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            scopes TEXT NOT NULL,
            created INTEGER NOT NULL,
            expires INTEGER,
            revoked INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX tokens_account ON tokens(account);

        CREATE TABLE audit_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time INTEGER NOT NULL,
            actor TEXT NOT NULL,
            address TEXT,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            success INTEGER NOT NULL,
            detail TEXT
        );
        CREATE INDEX audit_events_actor ON audit_events(actor, id);
        CREATE INDEX audit_events_action ON audit_events(action, id);
        """,
        """
        -- Garbage collection asks whether any repository still holds a manifest with a given digest.
        CREATE INDEX manifests_digest ON manifests(digest);
        """,
        """
        -- The events outbox (IEventLog): each change's row is written in the change's transaction. AUTOINCREMENT so
        -- ids are never reused, even after the newest events are pruned: a reader's cursor stays valid.
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time INTEGER NOT NULL,
            kind TEXT NOT NULL,
            repository TEXT,
            subject TEXT,
            digest TEXT,
            tag TEXT,
            detail TEXT,
            actor TEXT
        );
        CREATE INDEX events_time ON events(time);
        """,
        """
        -- Policies (immutable tags, retention, quota) per namespace ("ns/") or repository, as JSON documents: the write
        -- transactions that move or delete a tag read the immutable-tags rows (IManifestIndex refuses there).
        CREATE TABLE policies (
            target TEXT NOT NULL,
            kind TEXT NOT NULL,
            body TEXT NOT NULL,
            updated INTEGER NOT NULL,
            PRIMARY KEY (target, kind)
        ) WITHOUT ROWID;

        -- Pull statistics, added by each node's batched flush (ITagStatistics).
        ALTER TABLE tags ADD COLUMN last_pulled INTEGER;
        ALTER TABLE tags ADD COLUMN pull_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE manifests ADD COLUMN last_pulled INTEGER;
        ALTER TABLE manifests ADD COLUMN pull_count INTEGER NOT NULL DEFAULT 0;

        -- Content a scrub found damaged: never served (IIntegrity).
        CREATE TABLE quarantine (
            digest TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            time INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
        """
        -- Garbage collection (docs/architecture.md, "Garbage collection"): a blob being deleted is marked (deleting, the time
        -- of the mark) until its file is gone; a writer claims a digest before it stores it; the last run's report.
        ALTER TABLE blobs ADD COLUMN deleting INTEGER;
        CREATE INDEX blobs_deleting ON blobs(deleting) WHERE deleting IS NOT NULL;
        CREATE TABLE blob_claims (
            digest TEXT NOT NULL,
            claim TEXT NOT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (digest, claim)
        ) WITHOUT ROWID;
        CREATE INDEX blob_claims_created ON blob_claims(created);
        CREATE INDEX uploads_committing ON uploads(committing) WHERE committing IS NOT NULL;
        CREATE TABLE gc_reports (
            name TEXT PRIMARY KEY,
            finished INTEGER NOT NULL,
            report TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
        """
        -- Who made each change, through which request (RequestContext), for webhooks and audit; null outside a request.
        ALTER TABLE events ADD COLUMN request_id TEXT;
        ALTER TABLE events ADD COLUMN address TEXT;

        -- Webhooks (IWebhooks): site-wide when namespace is null. events: the subscribed kinds, comma-separated;
        -- repositories: a pattern ('' for all). The secret signs deliveries and is never shown again. configured: declared
        -- in the server's configuration (kept in step with it at start), not through the API.
        CREATE TABLE webhooks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            namespace TEXT,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            events TEXT NOT NULL,
            repositories TEXT NOT NULL,
            created INTEGER NOT NULL,
            configured INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX webhooks_namespace ON webhooks(namespace);
        -- One row per (hook, outbox event) with the envelope it sends: pending until delivered or given up.
        CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            hook INTEGER NOT NULL,
            event INTEGER NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt INTEGER,
            last_status INTEGER,
            last_error TEXT,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            UNIQUE (hook, event)
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt) WHERE state = 'pending';
        CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(hook, id);
        CREATE INDEX webhook_deliveries_updated ON webhook_deliveries(updated);
        -- How far the outbox was fanned out into deliveries.
        CREATE TABLE webhook_cursor (
            name TEXT PRIMARY KEY,
            position INTEGER NOT NULL
        );
        """,
        """
        -- Search (docs/architecture.md, "Search"). Stars by users; namespaces (namespace = 1) and repositories marked official
        -- by a site administrator ("library/" is official without a mark); words from image labels (the search-labels job).
        CREATE TABLE stars (
            repository TEXT NOT NULL,
            account TEXT NOT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (repository, account)
        ) WITHOUT ROWID;
        CREATE INDEX stars_account ON stars(account, repository);

        CREATE TABLE official_marks (
            target TEXT NOT NULL,
            namespace INTEGER NOT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (target, namespace)
        ) WITHOUT ROWID;

        CREATE TABLE repository_labels (
            name TEXT PRIMARY KEY,
            labels TEXT NOT NULL,
            updated INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- The last event the search-labels job handled.
        CREATE TABLE search_cursor (
            name TEXT PRIMARY KEY,
            last_event INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- Derived (kept by the triggers below in the transaction of each change; berth migrate rebuilds it rather than
        -- copying it): one row per repository with what orders results (official, stars, pulls: pulls is written by the
        -- pull counter) and its searchable text, and the FTS5 index over that text (rowid = id).
        CREATE TABLE repository_ranks (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            official INTEGER NOT NULL DEFAULT 0,
            stars INTEGER NOT NULL DEFAULT 0,
            pulls INTEGER NOT NULL DEFAULT 0,
            description TEXT,
            labels TEXT
        );
        CREATE INDEX repository_ranks_order ON repository_ranks(official DESC, stars DESC, pulls DESC, name);
        CREATE VIRTUAL TABLE repository_words USING fts5(name, description, labels, content = 'repository_ranks', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2 3');

        CREATE TRIGGER repository_ranks_words_insert AFTER INSERT ON repository_ranks BEGIN
            INSERT INTO repository_words (rowid, name, description, labels) VALUES (new.id, new.name, new.description, new.labels);
        END;
        CREATE TRIGGER repository_ranks_words_update AFTER UPDATE OF description, labels ON repository_ranks BEGIN
            INSERT INTO repository_words (repository_words, rowid, name, description, labels) VALUES ('delete', old.id, old.name, old.description, old.labels);
            INSERT INTO repository_words (rowid, name, description, labels) VALUES (new.id, new.name, new.description, new.labels);
        END;
        CREATE TRIGGER repositories_ranks_insert AFTER INSERT ON repositories BEGIN
            INSERT INTO repository_ranks (name, official, stars, description, labels) VALUES (new.name,
                (instr(new.name, '/') > 0 AND substr(new.name, 1, instr(new.name, '/') - 1) = 'library')
                    OR EXISTS (SELECT 1 FROM official_marks WHERE (namespace = 0 AND target = new.name)
                        OR (namespace = 1 AND instr(new.name, '/') > 0 AND target = substr(new.name, 1, instr(new.name, '/') - 1))),
                (SELECT count(*) FROM stars WHERE repository = new.name),
                (SELECT description FROM repository_settings WHERE name = new.name),
                (SELECT labels FROM repository_labels WHERE name = new.name));
        END;
        CREATE TRIGGER repository_settings_ranks_insert AFTER INSERT ON repository_settings WHEN new.description IS NOT NULL BEGIN
            UPDATE repository_ranks SET description = new.description WHERE name = new.name;
        END;
        CREATE TRIGGER repository_settings_ranks_update AFTER UPDATE OF description ON repository_settings
            WHEN new.description IS NOT old.description BEGIN
            UPDATE repository_ranks SET description = new.description WHERE name = new.name;
        END;
        CREATE TRIGGER repository_labels_ranks_insert AFTER INSERT ON repository_labels BEGIN
            UPDATE repository_ranks SET labels = new.labels WHERE name = new.name;
        END;
        CREATE TRIGGER repository_labels_ranks_update AFTER UPDATE OF labels ON repository_labels WHEN new.labels IS NOT old.labels BEGIN
            UPDATE repository_ranks SET labels = new.labels WHERE name = new.name;
        END;
        CREATE TRIGGER repository_labels_ranks_delete AFTER DELETE ON repository_labels BEGIN
            UPDATE repository_ranks SET labels = NULL WHERE name = old.name;
        END;
        CREATE TRIGGER stars_ranks_insert AFTER INSERT ON stars BEGIN
            UPDATE repository_ranks SET stars = stars + 1 WHERE name = new.repository;
        END;
        CREATE TRIGGER stars_ranks_delete AFTER DELETE ON stars BEGIN
            UPDATE repository_ranks SET stars = stars - 1 WHERE name = old.repository;
        END;
        CREATE TRIGGER accounts_stars_delete AFTER DELETE ON accounts BEGIN
            DELETE FROM stars WHERE account = old.name;
        END;
        CREATE TRIGGER official_marks_ranks_insert AFTER INSERT ON official_marks BEGIN
            UPDATE repository_ranks SET official = 1
            WHERE (new.namespace = 0 AND name = new.target) OR (new.namespace = 1 AND name > new.target || '/' AND name < new.target || '0');
        END;
        CREATE TRIGGER official_marks_ranks_delete AFTER DELETE ON official_marks BEGIN
            UPDATE repository_ranks SET official = (substr(name, 1, 8) = 'library/')
                OR EXISTS (SELECT 1 FROM official_marks m WHERE (m.namespace = 0 AND m.target = repository_ranks.name)
                    OR (m.namespace = 1 AND instr(repository_ranks.name, '/') > 0 AND m.target = substr(repository_ranks.name, 1, instr(repository_ranks.name, '/') - 1)))
            WHERE (old.namespace = 0 AND name = old.target) OR (old.namespace = 1 AND name > old.target || '/' AND name < old.target || '0');
        END;

        INSERT INTO repository_ranks (name, official, description)
        SELECT r.name, substr(r.name, 1, 8) = 'library/', s.description FROM repositories r LEFT JOIN repository_settings s ON s.name = r.name;
        """,
    ];
}
