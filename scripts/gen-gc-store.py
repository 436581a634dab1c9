#!/usr/bin/env python3
"""Writes a store for the garbage collection benchmark (scripts/bench-storage-gc.sh): --blobs files under
DATA_DIR/blobs, of which --garbage (a fraction) is garbage, and the metadata straight into SQLite (DATA_DIR/berth.db,
schema from src/Berth.Metadata/Schema/SqliteSchema.cs).

Referenced: 1,000 repositories gc/rNNNN with tagged image manifests (tags v0, v1, ...), each a manifest, a config and
7 layers of its own (9 blobs), every config and layer linked to its repository. Garbage, in equal thirds: untagged
manifests (each with its own config and layer), blobs linked to a repository but referenced by no manifest (uploaded,
never used), and blobs nothing links; plus one garbage file in ten with no row at all (an orphan). Every row is two
days old (and so are the orphan files), so any grace window up to that treats the garbage as garbage.

The files are empty: collection never reads a blob, it lists, checks and deletes, and 1,000,000 real blobs would
only cost disk. A server on this store answers manifest GETs but blob GETs are empty.

    scripts/gen-gc-store.py DATA_DIR [--blobs 1000000] [--garbage 0.1]
"""
import argparse
import hashlib
import os
import re
import sqlite3
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
REPOSITORIES = 1000


def schema_steps():
    text = open(os.path.join(ROOT, "src/Berth.Metadata/Schema/SqliteSchema.cs"), encoding="utf-8").read()
    return [textwrap.dedent(step) for step in re.findall(r'"""\n(.*?)\n\s*"""', text, re.S)]


class Store:
    def __init__(self, data, db, created):
        self.data, self.db, self.created, self.n = data, db, created, 0
        self.rows = {t: [] for t in ("repositories", "blobs", "repository_blobs", "manifests", "manifest_references", "tags")}
        self.files = 0
        self.folders = set()

    def digest(self, kind):
        self.n += 1
        return "sha256:" + hashlib.sha256(f"{kind}-{self.n}".encode()).hexdigest()

    def file(self, digest):
        hex_ = digest[7:]
        folder = os.path.join(self.data, "blobs", "sha256", hex_[:2])
        if folder not in self.folders:
            os.makedirs(folder, exist_ok=True)
            self.folders.add(folder)
        os.close(os.open(os.path.join(folder, hex_), os.O_CREAT | os.O_WRONLY, 0o600))
        self.files += 1

    def blob(self, kind, row=True):
        d = self.digest(kind)
        self.file(d)
        if not row:
            hex_ = d[7:]
            old = self.created / 1000
            os.utime(os.path.join(self.data, "blobs", "sha256", hex_[:2], hex_), (old, old))
        if row:
            self.rows["blobs"].append((d, 1000, self.created))
        return d

    def manifest(self, repository, tag, layers):
        config = self.blob("config")
        blobs = [config] + [self.blob("layer") for _ in range(layers)]
        m = self.blob("manifest")
        for b in blobs:
            self.rows["repository_blobs"].append((repository, b, self.created))
            self.rows["manifest_references"].append((repository, m, b))
        self.rows["manifests"].append((repository, m, OCI_MANIFEST, 1000, None, None, None, self.created))
        if tag is not None:
            self.rows["tags"].append((repository, tag, m, self.created))
        return 2 + layers

    def flush(self):
        columns = {
            "repositories": "name, created", "blobs": "digest, size, created", "repository_blobs": "repository, digest, created",
            "manifests": "repository, digest, media_type, size, artifact_type, subject, annotations, created",
            "manifest_references": "repository, manifest, target", "tags": "repository, name, digest, updated",
        }
        for table, rows in self.rows.items():
            if rows:
                self.db.executemany(f"INSERT INTO {table} ({columns[table]}) VALUES ({', '.join('?' * len(rows[0]))})", rows)
                rows.clear()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir")
    parser.add_argument("--blobs", type=int, default=1_000_000)
    parser.add_argument("--garbage", type=float, default=0.1)
    args = parser.parse_args()
    data = os.path.abspath(args.data_dir)
    os.makedirs(data, exist_ok=True)
    db_path = os.path.join(data, "berth.db")
    if os.path.exists(db_path):
        sys.exit(f"{db_path} exists; give an empty directory")
    started = time.time()
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    steps = schema_steps()
    # Whole steps through executescript: a naive split on ';' breaks trigger bodies (BEGIN ... END;).
    for step in steps:
        db.executescript(step)
    db.execute(f"PRAGMA user_version = {len(steps)}")
    db.execute("BEGIN")
    store = Store(data, db, int(started * 1000) - 2 * 86_400_000)
    names = [f"gc/r{i:04d}" for i in range(REPOSITORIES)]
    store.rows["repositories"] = [(n, store.created) for n in names]
    garbage = int(args.blobs * args.garbage)
    referenced = args.blobs - garbage
    i = 0
    while store.files < referenced:
        store.manifest(names[i % REPOSITORIES], f"v{i // REPOSITORIES}", 7)
        i += 1
        if i % 10_000 == 0:
            store.flush()
            print(f"\r{store.files} blobs", end="", file=sys.stderr, flush=True)
    third = garbage // 3
    target = store.files + third
    while store.files < target:
        store.manifest(names[i % REPOSITORIES], None, 1)
        i += 1
    target = store.files + third
    while store.files < target:
        d = store.blob("unused")
        store.rows["repository_blobs"].append((names[store.files % REPOSITORIES], d, store.created))
    orphans = garbage // 10
    while store.files < args.blobs - orphans:
        store.blob("unlinked")
    while store.files < args.blobs:
        store.blob("orphan", row=False)
    store.flush()
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"\r{store.files} blob files ({garbage} garbage, {orphans} of them without a row) in {data} ({time.time() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
