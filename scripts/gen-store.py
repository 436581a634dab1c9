#!/usr/bin/env python3
"""Writes a valid Berth store with many repositories: blobs into DATA_DIR/blobs, metadata straight into SQLite
(DATA_DIR/berth.db) or, with --postgres, into an empty PostgreSQL database through COPY.

Every repository NAME (gen/rNNNNNNN) has one tag, "latest", pointing at its own small OCI image manifest
(one config and one layer shared by all, linked to every repository), as a push through the API would
leave it. For search, each has a description (six words drawn from 60 common ones with Zipf weights, so
"linux" is in about a third of them and "kafka" in about 3%, plus "projectNNNNN", shared by 10 repositories),
image labels ("vendorNNN", shared by 1,000), a pull count (random, 0-99,999), and every tenth is public. One more repository, gen/tags, has --tags tags (t0000000, ...) on one manifest, for tag-list paging.
The schema comes from src/Berth.Metadata/Schema/SqliteSchema.cs or PostgresSchema.cs, so the store matches the
code it sits next to. No user is created: the store is open (anonymous pull). For load tests such as manifest
GET over random repositories (scripts/random-repo.lua).

    scripts/gen-store.py DATA_DIR [--repositories 1000000] [--tags 100000] [--no-images]
    scripts/gen-store.py DATA_DIR --postgres 'Host=127.0.0.1;Port=5432;Username=berth;Database=berth'

With --postgres, serve with metadata.type postgres, BERTH_POSTGRES set to the same connection string and
BERTH_DATA=DATA_DIR (blobs stay files). psql must be installed; the database must hold no tables yet.
"""
import argparse
import hashlib
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BATCH = 10_000
# Columns named, so tables that grew columns since (blobs.deleting) take their defaults.
COLUMNS = {
    "repositories": "name, created",
    "blobs": "digest, size, created",
    "repository_blobs": "repository, digest, created",
    "manifests": "repository, digest, media_type, size, artifact_type, subject, annotations, created",
    "manifest_references": "repository, manifest, target",
    "tags": "repository, name, digest, updated",
    "repository_settings": "name, visibility, description, updated",
    "repository_labels": "name, labels, updated",
}


def schema_steps(dialect):
    text = open(os.path.join(ROOT, f"src/Berth.Metadata/Schema/{dialect}Schema.cs"), encoding="utf-8").read()
    return [textwrap.dedent(step) for step in re.findall(r'"""\n(.*?)\n\s*"""', text, re.S)]


def write_blob(data_dir, content):
    digest = hashlib.sha256(content).hexdigest()
    folder = os.path.join(data_dir, "blobs", "sha256", digest[:2])
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, digest)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(content)
    return "sha256:" + digest


def image_manifest(config_digest, config_size, layer_digest, layer_size, title):
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}],
        "annotations": {"org.opencontainers.image.title": title},
    }, separators=(",", ":")).encode()


WORDS = ("linux alpine debian ubuntu python node java golang rust nginx redis postgres mysql server client api web worker "
         "cron proxy cache queue build test runtime base image service tool agent exporter metrics logging gateway auth "
         "frontend backend database stream batch ml model training inference cli sdk plugin operator controller sidecar "
         "monitor backup storage network dns mail search kafka").split()
WEIGHTS = [1 / (i + 1) for i in range(len(WORDS))]


def search_rows(name, i, now, rng):
    """repository_settings (visibility, description) and repository_labels rows of repository number i."""
    words = rng.choices(WORDS, WEIGHTS, k=6)
    description = " ".join(words).capitalize() + f", project{i % 100_000:05d}"
    labels = f"org.opencontainers.image.vendor vendor{i % 1000:03d} org.opencontainers.image.licenses Apache-2.0"
    return [(name, "public" if i % 10 == 0 else None, description, now)], [(name, labels, now)]


def batches(data, args, now):
    """The rows of every table, BATCH repositories at a time: (table, rows) pairs, parents before children."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = b"gen-store layer\n"
    config_digest = write_blob(data, config)
    layer_digest = write_blob(data, layer)
    yield [("blobs", [(config_digest, len(config), now), (layer_digest, len(layer), now)])]

    def repository(name, tags):
        manifest = image_manifest(config_digest, len(config), layer_digest, len(layer), name)
        digest = write_blob(data, manifest)
        return {
            "repositories": [(name, now)],
            "blobs": [(digest, len(manifest), now)],
            "repository_blobs": [(name, config_digest, now), (name, layer_digest, now)],
            "manifests": [(name, digest, OCI_MANIFEST, len(manifest), None, None, json.dumps({"org.opencontainers.image.title": name}), now)],
            "manifest_references": [(name, digest, config_digest), (name, digest, layer_digest)],
            "tags": [(name, tag, digest, now) for tag in tags],
        }

    # Settings and labels before their repositories: the search index's triggers read them when a repository is created.
    tables = ["repository_settings", "repository_labels", "repositories", "blobs", "repository_blobs", "manifests", "manifest_references", "tags"]
    rng = random.Random(42)
    for start in range(0, args.repositories, BATCH):
        rows = {t: [] for t in tables}
        for i in range(start, min(start + BATCH, args.repositories)):
            name = f"gen/r{i:07d}"
            settings, labels = search_rows(name, i, now, rng)
            rows["repository_settings"] += settings
            rows["repository_labels"] += labels
            if args.no_images:
                rows["repositories"].append((name, now))
                continue
            for t, r in repository(name, ["latest"]).items():
                rows[t] += r
        print(f"\r{min(start + BATCH, args.repositories)} repositories", end="", file=sys.stderr, flush=True)
        yield [(t, rows[t]) for t in tables]
    if args.tags:
        many = repository("gen/tags", [f"t{i:07d}" for i in range(args.tags)])
        yield [(t, many.get(t, [])) for t in tables]


def generate_sqlite(data, args, now):
    db_path = os.path.join(data, "berth.db")
    if os.path.exists(db_path):
        sys.exit(f"{db_path} exists; give an empty directory")
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    steps = schema_steps("Sqlite")
    db.execute("BEGIN")
    for step in steps:
        for statement in split_sql(step):
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {len(steps)}")
    # The search index's triggers would update it row by row: drop them for the load, build it in bulk, put them back.
    triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        db.execute(f"DROP TRIGGER {name}")
    for batch in batches(data, args, now):
        for table, rows in batch:
            if rows:
                db.executemany(f"INSERT OR IGNORE INTO {table} ({COLUMNS[table]}) VALUES ({', '.join('?' * len(rows[0]))})", rows)
    # What the triggers would have written (pull counts are the pull counter's to write; here random, so the ranking
    # is not the name order), then the full-text index in one pass.
    db.execute("""INSERT INTO repository_ranks (name, official, description, labels, pulls)
                  SELECT r.name, substr(r.name, 1, 8) = 'library/', s.description, l.labels, abs(random()) % 100000
                  FROM repositories r LEFT JOIN repository_settings s ON s.name = r.name LEFT JOIN repository_labels l ON l.name = r.name""")
    db.execute("INSERT INTO repository_words (repository_words) VALUES ('rebuild')")
    for _, sql in triggers:
        db.execute(sql)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def libpq_environment(connection_string):
    """The Npgsql connection string as libpq's environment variables (for psql)."""
    names = {"host": "PGHOST", "server": "PGHOST", "port": "PGPORT", "username": "PGUSER", "user id": "PGUSER", "userid": "PGUSER",
             "user": "PGUSER", "password": "PGPASSWORD", "database": "PGDATABASE", "db": "PGDATABASE", "ssl mode": "PGSSLMODE",
             "sslmode": "PGSSLMODE"}
    env = dict(os.environ)
    for part in connection_string.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            if key.strip().lower() in names:
                env[names[key.strip().lower()]] = value.strip()
    return env


def copy_text(value):
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def generate_postgres(data, args, now):
    env = libpq_environment(args.postgres)
    psql = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"], stdin=subprocess.PIPE, env=env, text=True)
    out = psql.stdin
    # The schema as PostgresDatabase applies it: its version table, then every step, in one transaction.
    version_table = re.search(r'"(CREATE TABLE IF NOT EXISTS schema_version [^"]*)"',
                              open(os.path.join(ROOT, "src/Berth.Metadata/PostgresDatabase.cs"), encoding="utf-8").read()).group(1)
    steps = schema_steps("Postgres")
    out.write("BEGIN;\nSET synchronous_commit = off;\n")
    out.write("DO $$ BEGIN IF to_regclass('schema_version') IS NOT NULL THEN RAISE 'the database already holds a Berth schema; give an empty one'; END IF; END $$;\n")
    out.write(version_table + ";\n")
    for i, step in enumerate(steps):
        out.write(step + "\n;\n")
        out.write(f"INSERT INTO schema_version (version, applied) VALUES ({i + 1}, {now});\n")
    # The search index's triggers and indexes would be updated row by row: off for the load, built in bulk after.
    out.write("ALTER TABLE repositories DISABLE TRIGGER repositories_ranks_insert;\n"
              "ALTER TABLE repository_settings DISABLE TRIGGER USER;\nALTER TABLE repository_labels DISABLE TRIGGER USER;\n"
              "DROP INDEX repository_ranks_words;\nDROP INDEX repository_ranks_order;\n")
    for batch in batches(data, args, now):
        for table, rows in batch:
            if not rows:
                continue
            out.write(f"COPY {table} ({COLUMNS[table]}) FROM STDIN;\n")
            out.write("".join("\t".join(copy_text(v) for v in row) + "\n" for row in rows))
            out.write("\\.\n")
    out.write("INSERT INTO repository_ranks (name, official, description, labels, pulls) "
              "SELECT r.name, search_official(r.name), s.description, l.labels, floor(random() * 100000)::bigint "
              "FROM repositories r LEFT JOIN repository_settings s ON s.name = r.name LEFT JOIN repository_labels l ON l.name = r.name;\n")
    index_sql = re.findall(r"CREATE INDEX repository_ranks_\w+ ON repository_ranks[^;]*;", "\n".join(steps))
    out.write("SET maintenance_work_mem = '512MB';\n" + "\n".join(index_sql) + "\n")
    out.write("ALTER TABLE repositories ENABLE TRIGGER repositories_ranks_insert;\n"
              "ALTER TABLE repository_settings ENABLE TRIGGER USER;\nALTER TABLE repository_labels ENABLE TRIGGER USER;\n")
    out.write("COMMIT;\nVACUUM ANALYZE;\n")
    out.close()
    if psql.wait() != 0:
        sys.exit("gen-store.py: psql failed (see above)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir")
    parser.add_argument("--repositories", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=100_000, help="tags of the one repository gen/tags (0: no such repository)")
    parser.add_argument("--no-images", action="store_true",
                        help="repositories without images: only the rows search reads (scripts/bench-search.sh), much faster")
    parser.add_argument("--postgres", metavar="CONNECTION_STRING", help="write the metadata into this PostgreSQL database (Npgsql form)")
    args = parser.parse_args()
    data = os.path.abspath(args.data_dir)
    os.makedirs(data, exist_ok=True)
    started = time.time()
    now = int(started * 1000)
    if args.postgres:
        generate_postgres(data, args, now)
    else:
        generate_sqlite(data, args, now)
    where = "PostgreSQL" if args.postgres else os.path.join(data, "berth.db")
    print(f"\n{args.repositories} repositories and one of {args.tags} tags in {where}, blobs in {data} ({time.time() - started:.0f} s)",
          file=sys.stderr)


def split_sql(script):
    """Statements of one schema step, a trigger's body (BEGIN ... END;) kept whole."""
    statements, current = [], ""
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s.strip(" ;\n")]


if __name__ == "__main__":
    main()
