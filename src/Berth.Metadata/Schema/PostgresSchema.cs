namespace Berth.Metadata;

/// <summary>
/// The PostgreSQL schema, the sibling of <see cref="SqliteSchema"/>: ordered steps, the index + 1 being the version
/// recorded in <c>schema_version</c>, applied by <see cref="PostgresDatabase.OpenAsync"/> under an advisory lock so that
/// nodes starting together apply each step once. Append, never edit a released step. Times are Unix milliseconds
/// (bigint), as in SQLite; names, tags and digests are text in the "C" collation, so lists are in byte order (the
/// order SQLite gives) and keyset paging (<c>name &gt; last</c>) walks the primary key whatever the database's locale.
/// </summary>
internal static class PostgresSchema
{
    public static readonly string[] Steps =
    [
        """
        CREATE TABLE repositories (
            name text COLLATE "C" PRIMARY KEY,
            created bigint NOT NULL
        );

        -- Every blob committed to the content store (layers, configs and manifests).
        CREATE TABLE blobs (
            digest text COLLATE "C" PRIMARY KEY,
            size bigint NOT NULL,
            created bigint NOT NULL
        );

        -- The blobs a repository may serve: uploaded, mounted or referenced there.
        CREATE TABLE repository_blobs (
            repository text COLLATE "C" NOT NULL REFERENCES repositories(name),
            digest text COLLATE "C" NOT NULL REFERENCES blobs(digest),
            created bigint NOT NULL,
            PRIMARY KEY (repository, digest)
        );
        -- The mount source: the first repository, in name order, that links a digest.
        CREATE INDEX repository_blobs_digest ON repository_blobs(digest, repository);

        CREATE TABLE manifests (
            repository text COLLATE "C" NOT NULL REFERENCES repositories(name),
            digest text COLLATE "C" NOT NULL,
            media_type text NOT NULL,
            size bigint NOT NULL,
            artifact_type text,
            subject text COLLATE "C",
            annotations text,
            created bigint NOT NULL,
            PRIMARY KEY (repository, digest)
        );
        -- Referrers, oldest first; and garbage collection's "does any repository hold a manifest with this digest".
        CREATE INDEX manifests_subject ON manifests(repository, subject, created, digest) WHERE subject IS NOT NULL;
        CREATE INDEX manifests_digest ON manifests(digest);

        -- What each manifest points at (config, layers, child manifests), for garbage collection.
        CREATE TABLE manifest_references (
            repository text COLLATE "C" NOT NULL,
            manifest text COLLATE "C" NOT NULL,
            target text COLLATE "C" NOT NULL,
            PRIMARY KEY (repository, manifest, target)
        );
        CREATE INDEX manifest_references_target ON manifest_references(target);

        CREATE TABLE tags (
            repository text COLLATE "C" NOT NULL,
            name text COLLATE "C" NOT NULL,
            digest text COLLATE "C" NOT NULL,
            updated bigint NOT NULL,
            PRIMARY KEY (repository, name)
        );
        CREATE INDEX tags_digest ON tags(repository, digest);

        CREATE TABLE uploads (
            id text COLLATE "C" PRIMARY KEY,
            repository text COLLATE "C" NOT NULL,
            size bigint NOT NULL,
            started bigint NOT NULL,
            updated bigint NOT NULL,
            committing text
        );
        CREATE INDEX uploads_updated ON uploads(updated);

        -- Users, robots and organisations share one set of names; users and organisations are also namespaces.
        CREATE TABLE accounts (
            name text COLLATE "C" PRIMARY KEY,
            kind text NOT NULL,
            password_hash text,
            admin boolean NOT NULL DEFAULT false,
            default_visibility text NOT NULL DEFAULT 'private',
            created bigint NOT NULL
        );

        CREATE TABLE org_members (
            organization text COLLATE "C" NOT NULL,
            member text COLLATE "C" NOT NULL,
            owner boolean NOT NULL,
            PRIMARY KEY (organization, member)
        );
        CREATE INDEX org_members_member ON org_members(member);

        CREATE TABLE teams (
            organization text COLLATE "C" NOT NULL,
            name text COLLATE "C" NOT NULL,
            created bigint NOT NULL,
            PRIMARY KEY (organization, name)
        );

        CREATE TABLE team_members (
            organization text COLLATE "C" NOT NULL,
            team text COLLATE "C" NOT NULL,
            member text COLLATE "C" NOT NULL,
            PRIMARY KEY (organization, team, member)
        );
        CREATE INDEX team_members_member ON team_members(member);

        -- A role (1 read, 2 write, 3 admin) on a namespace or a repository, for "user:NAME" or "team:ORG/TEAM".
        CREATE TABLE grants (
            target text COLLATE "C" NOT NULL,
            namespace boolean NOT NULL,
            subject text COLLATE "C" NOT NULL,
            role integer NOT NULL,
            created bigint NOT NULL,
            PRIMARY KEY (target, namespace, subject)
        );
        CREATE INDEX grants_subject ON grants(subject);

        -- Visibility is recorded per repository once set or once its namespace's default changes.
        CREATE TABLE repository_settings (
            name text COLLATE "C" PRIMARY KEY,
            visibility text,
            description text,
            updated bigint NOT NULL
        );

        -- Access tokens: only a hash of the secret is kept. Scopes are "pattern:actions" separated by spaces.
        CREATE TABLE tokens (
            id text COLLATE "C" PRIMARY KEY,
            account text COLLATE "C" NOT NULL,
            name text NOT NULL,
            secret_hash text NOT NULL,
            scopes text NOT NULL,
            created bigint NOT NULL,
            expires bigint,
            revoked bigint
        );
        CREATE INDEX tokens_account ON tokens(account, created);

        CREATE TABLE audit_events (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            time bigint NOT NULL,
            actor text NOT NULL,
            address text,
            action text NOT NULL,
            target text NOT NULL,
            success boolean NOT NULL,
            detail text
        );
        CREATE INDEX audit_events_actor ON audit_events(actor, id);
        CREATE INDEX audit_events_action ON audit_events(action, id);
        CREATE INDEX audit_events_target ON audit_events(target, id);

        -- The events outbox (IEventLog). A sequence gives ids out in the order transactions ask, not the order they
        -- commit: every insert takes the events lock first and holds it to its commit (PostgresDatabase.EventsLock), so
        -- ids become visible in order. Sequences never give an id out twice, also after pruning.
        CREATE TABLE events (
            id bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME events_id_seq) PRIMARY KEY,
            time bigint NOT NULL,
            kind text NOT NULL,
            repository text,
            subject text,
            digest text,
            tag text,
            detail text,
            actor text
        );
        CREATE INDEX events_time ON events(time);
        """,
        """
        -- Search matches a substring of the name or description: trigram indexes answer that without reading every row
        -- (pg_trgm is a trusted extension: the database's owner may create it).
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX repositories_name_trgm ON repositories USING gin (name gin_trgm_ops);
        CREATE INDEX repository_settings_description_trgm ON repository_settings USING gin (lower(description) gin_trgm_ops);
        """,
        """
        -- State the nodes share (ILimitCounters, ISharedSecrets). Times as the caller gives them, in Unix milliseconds.
        -- Pull windows: the last call's verdict is kept with the count so one upsert can both count and answer.
        CREATE TABLE limit_windows (
            key text COLLATE "C" PRIMARY KEY,
            start bigint NOT NULL,
            length bigint NOT NULL,
            count integer NOT NULL,
            allowed boolean NOT NULL
        );
        CREATE INDEX limit_windows_end ON limit_windows((start + length));

        CREATE TABLE limit_failures (
            key text COLLATE "C" PRIMARY KEY,
            failures integer NOT NULL,
            last_failure bigint NOT NULL,
            locked_until bigint,
            lockout bigint NOT NULL
        );
        CREATE INDEX limit_failures_end ON limit_failures((greatest(last_failure + lockout, coalesce(locked_until, 0))));

        -- Small secrets every node must agree on (the token signing key): the first value stored wins, and never changes.
        CREATE TABLE secrets (
            name text COLLATE "C" PRIMARY KEY,
            value text NOT NULL,
            created bigint NOT NULL
        );
        """,
        """
        -- Policies (immutable tags, retention, quota) per namespace ("ns/") or repository, as JSON documents: the write
        -- transactions that move or delete a tag read the immutable-tags rows (IManifestIndex refuses there).
        CREATE TABLE policies (
            target text COLLATE "C" NOT NULL,
            kind text NOT NULL,
            body text NOT NULL,
            updated bigint NOT NULL,
            PRIMARY KEY (target, kind)
        );

        -- Pull statistics, added by each node's batched flush (ITagStatistics).
        ALTER TABLE tags ADD COLUMN last_pulled bigint;
        ALTER TABLE tags ADD COLUMN pull_count bigint NOT NULL DEFAULT 0;
        ALTER TABLE manifests ADD COLUMN last_pulled bigint;
        ALTER TABLE manifests ADD COLUMN pull_count bigint NOT NULL DEFAULT 0;

        -- Content a scrub found damaged: never served (IIntegrity).
        CREATE TABLE quarantine (
            digest text COLLATE "C" PRIMARY KEY,
            reason text NOT NULL,
            time bigint NOT NULL
        );
        """,
        """
        -- Garbage collection (docs/architecture.md, "Garbage collection"): a blob being deleted is marked (deleting, the time
        -- of the mark) until its file is gone; a writer claims a digest before it stores it; the last run's report.
        ALTER TABLE blobs ADD COLUMN deleting bigint;
        CREATE INDEX blobs_deleting ON blobs(deleting) WHERE deleting IS NOT NULL;
        CREATE TABLE blob_claims (
            digest text COLLATE "C" NOT NULL,
            claim text COLLATE "C" NOT NULL,
            created bigint NOT NULL,
            PRIMARY KEY (digest, claim)
        );
        CREATE INDEX blob_claims_created ON blob_claims(created);
        CREATE INDEX uploads_committing ON uploads(committing) WHERE committing IS NOT NULL;
        CREATE INDEX manifest_references_target_repository ON manifest_references(target, repository);
        CREATE TABLE gc_reports (
            name text COLLATE "C" PRIMARY KEY,
            finished bigint NOT NULL,
            report text NOT NULL
        );
        """,
        """
        -- Who made each change, through which request (RequestContext), for webhooks and audit; null outside a request.
        ALTER TABLE events ADD COLUMN request_id text;
        ALTER TABLE events ADD COLUMN address text;

        -- Webhooks (IWebhooks): site-wide when namespace is null. events: the subscribed kinds, comma-separated;
        -- repositories: a pattern ('' for all). The secret signs deliveries and is never shown again. configured: declared
        -- in the server's configuration (kept in step with it at start), not through the API.
        CREATE TABLE webhooks (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            namespace text COLLATE "C",
            url text NOT NULL,
            secret text NOT NULL,
            events text NOT NULL,
            repositories text NOT NULL,
            created bigint NOT NULL,
            configured boolean NOT NULL DEFAULT false
        );
        CREATE INDEX webhooks_namespace ON webhooks(namespace);
        -- One row per (hook, outbox event) with the envelope it sends: pending until delivered or given up.
        CREATE TABLE webhook_deliveries (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            hook bigint NOT NULL,
            event bigint NOT NULL,
            kind text NOT NULL,
            payload text NOT NULL,
            state text NOT NULL,
            attempts integer NOT NULL,
            next_attempt bigint,
            last_status integer,
            last_error text,
            created bigint NOT NULL,
            updated bigint NOT NULL,
            UNIQUE (hook, event)
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt) WHERE state = 'pending';
        CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(hook, id);
        CREATE INDEX webhook_deliveries_updated ON webhook_deliveries(updated);
        -- How far the outbox was fanned out into deliveries.
        CREATE TABLE webhook_cursor (
            name text COLLATE "C" PRIMARY KEY,
            position bigint NOT NULL
        );
        """,
        """
        -- Search (docs/architecture.md, "Search"): the sibling of SQLite's step, with a tsvector and GIN in place of FTS5.
        CREATE TABLE stars (
            repository text COLLATE "C" NOT NULL,
            account text COLLATE "C" NOT NULL,
            created bigint NOT NULL,
            PRIMARY KEY (repository, account)
        );
        CREATE INDEX stars_account ON stars(account, repository);

        CREATE TABLE official_marks (
            target text COLLATE "C" NOT NULL,
            namespace boolean NOT NULL,
            created bigint NOT NULL,
            PRIMARY KEY (target, namespace)
        );

        CREATE TABLE repository_labels (
            name text COLLATE "C" PRIMARY KEY,
            labels text NOT NULL,
            updated bigint NOT NULL
        );

        CREATE TABLE search_cursor (
            name text COLLATE "C" PRIMARY KEY,
            last_event bigint NOT NULL
        );

        -- Derived, kept by the triggers below (berth migrate rebuilds it rather than copying it). The words are the name,
        -- description and labels lower-cased with every run of other characters made one space, as SQLite's unicode61
        -- tokenizer splits them, so a query matches the same repositories on both backends.
        CREATE TABLE repository_ranks (
            name text COLLATE "C" PRIMARY KEY,
            official boolean NOT NULL DEFAULT false,
            stars integer NOT NULL DEFAULT 0,
            pulls bigint NOT NULL DEFAULT 0,
            description text,
            labels text,
            words tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, regexp_replace(
                lower((name COLLATE "default") || ' ' || coalesce(description, '') || ' ' || coalesce(labels, '')), '[^[:alnum:]]+', ' ', 'g'))) STORED
        );
        CREATE INDEX repository_ranks_order ON repository_ranks(official DESC, stars DESC, pulls DESC, name);
        CREATE INDEX repository_ranks_words ON repository_ranks USING gin (words);

        CREATE FUNCTION search_official(n text) RETURNS boolean LANGUAGE sql STABLE AS $$
            SELECT (strpos(n, '/') > 0 AND split_part(n, '/', 1) = 'library')
                OR EXISTS (SELECT 1 FROM official_marks m WHERE (NOT m.namespace AND m.target = n)
                    OR (m.namespace AND strpos(n, '/') > 0 AND m.target = split_part(n, '/', 1)))
        $$;

        CREATE FUNCTION search_repositories_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            INSERT INTO repository_ranks (name, official, stars, description, labels) VALUES (NEW.name, search_official(NEW.name),
                (SELECT count(*) FROM stars WHERE repository = NEW.name),
                (SELECT description FROM repository_settings WHERE name = NEW.name),
                (SELECT labels FROM repository_labels WHERE name = NEW.name))
            ON CONFLICT (name) DO NOTHING;
            RETURN NULL;
        END $$;
        CREATE TRIGGER repositories_ranks_insert AFTER INSERT ON repositories FOR EACH ROW EXECUTE FUNCTION search_repositories_insert();

        CREATE FUNCTION search_description() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            UPDATE repository_ranks SET description = NEW.description WHERE name = NEW.name;
            RETURN NULL;
        END $$;
        CREATE TRIGGER repository_settings_ranks_insert AFTER INSERT ON repository_settings FOR EACH ROW
            WHEN (NEW.description IS NOT NULL) EXECUTE FUNCTION search_description();
        CREATE TRIGGER repository_settings_ranks_update AFTER UPDATE OF description ON repository_settings FOR EACH ROW
            WHEN (NEW.description IS DISTINCT FROM OLD.description) EXECUTE FUNCTION search_description();

        CREATE FUNCTION search_labels() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            IF TG_OP = 'DELETE' THEN
                UPDATE repository_ranks SET labels = NULL WHERE name = OLD.name;
            ELSE
                UPDATE repository_ranks SET labels = NEW.labels WHERE name = NEW.name;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER repository_labels_ranks AFTER INSERT OR UPDATE OR DELETE ON repository_labels FOR EACH ROW EXECUTE FUNCTION search_labels();

        CREATE FUNCTION search_stars() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            IF TG_OP = 'DELETE' THEN
                UPDATE repository_ranks SET stars = stars - 1 WHERE name = OLD.repository;
            ELSE
                UPDATE repository_ranks SET stars = stars + 1 WHERE name = NEW.repository;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER stars_ranks AFTER INSERT OR DELETE ON stars FOR EACH ROW EXECUTE FUNCTION search_stars();

        CREATE FUNCTION search_account_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            DELETE FROM stars WHERE account = OLD.name;
            RETURN NULL;
        END $$;
        CREATE TRIGGER accounts_stars_delete AFTER DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION search_account_delete();

        CREATE FUNCTION search_official_marks() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE m official_marks;
        BEGIN
            IF TG_OP = 'DELETE' THEN m := OLD; ELSE m := NEW; END IF;
            -- "ns/" up to "ns0" ('0' follows '/') is every name in the namespace, a range of the primary key.
            UPDATE repository_ranks SET official = search_official(name)
            WHERE (NOT m.namespace AND name = m.target) OR (m.namespace AND name > m.target || '/' AND name < m.target || '0');
            RETURN NULL;
        END $$;
        CREATE TRIGGER official_marks_ranks AFTER INSERT OR DELETE ON official_marks FOR EACH ROW EXECUTE FUNCTION search_official_marks();

        INSERT INTO repository_ranks (name, official, description)
        SELECT r.name, search_official(r.name), s.description FROM repositories r LEFT JOIN repository_settings s ON s.name = r.name;
        """,
    ];
}
