#!/usr/bin/env python3
"""Writes a valid Berth data directory with many repositories, straight into SQLite and blobs/.

Every repository NAME (gen/rNNNNNNN) has one tag, "latest", pointing at its own small OCI image manifest
(one config and one layer shared by all, linked to every repository), as a push through the API would
leave it. One more repository, gen/many-tags, has --tags tags (t0000000 ...) on one manifest, for the
tags list. The schema comes from src/Berth.Metadata/Schema/SqliteSchema.cs, so the store matches the code
it sits next to. No user is created: the store is open (anonymous pull). For load tests such as manifest
GET over random repositories (scripts/random-repo.lua) and scripts/bench-scale.sh.

    scripts/gen-store.py DATA_DIR [--repositories 1000000] [--tags 100000]
"""
import argparse
import hashlib
import json
import os
import re
import sqlite3
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def migrations():
    text = open(os.path.join(ROOT, "src/Berth.Metadata/Schema/SqliteSchema.cs"), encoding="utf-8").read()
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir")
    parser.add_argument("--repositories", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=100_000, help="tags of gen/many-tags (0: no such repository)")
    args = parser.parse_args()
    data = os.path.abspath(args.data_dir)
    db_path = os.path.join(data, "berth.db")
    if os.path.exists(db_path):
        sys.exit(f"{db_path} exists; give an empty directory")
    os.makedirs(data, exist_ok=True)
    started = time.time()

    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = b"gen-store layer\n"
    config_digest = write_blob(data, config)
    layer_digest = write_blob(data, layer)

    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    steps = migrations()
    db.execute("BEGIN")
    for step in steps:
        for statement in split_sql(step):
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {len(steps)}")
    now = int(started * 1000)
    db.execute("INSERT INTO blobs VALUES (?, ?, ?)", (config_digest, len(config), now))
    db.execute("INSERT INTO blobs VALUES (?, ?, ?)", (layer_digest, len(layer), now))

    batch = 10_000
    for start in range(0, args.repositories, batch):
        repos, blobs, links, manifests, refs, tags = [], [], [], [], [], []
        for i in range(start, min(start + batch, args.repositories)):
            name = f"gen/r{i:07d}"
            manifest = json.dumps({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}],
                "annotations": {"org.opencontainers.image.title": name},
            }, separators=(",", ":")).encode()
            digest = write_blob(data, manifest)
            repos.append((name, now))
            blobs.append((digest, len(manifest), now))
            links += [(name, config_digest, now), (name, layer_digest, now)]
            manifests.append((name, digest, OCI_MANIFEST, len(manifest), None, None, json.dumps({"org.opencontainers.image.title": name}), now))
            refs += [(name, digest, config_digest), (name, digest, layer_digest)]
            tags.append((name, "latest", digest, now))
        db.executemany("INSERT INTO repositories VALUES (?, ?)", repos)
        db.executemany("INSERT OR IGNORE INTO blobs VALUES (?, ?, ?)", blobs)
        db.executemany("INSERT INTO repository_blobs VALUES (?, ?, ?)", links)
        db.executemany("INSERT INTO manifests VALUES (?, ?, ?, ?, ?, ?, ?, ?)", manifests)
        db.executemany("INSERT INTO manifest_references VALUES (?, ?, ?)", refs)
        db.executemany("INSERT INTO tags VALUES (?, ?, ?, ?)", tags)
        print(f"\r{start + len(repos)} repositories", end="", file=sys.stderr, flush=True)
    if args.tags > 0:
        name = "gen/many-tags"
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}],
            "annotations": {"org.opencontainers.image.title": name},
        }, separators=(",", ":")).encode()
        digest = write_blob(data, manifest)
        db.execute("INSERT INTO repositories VALUES (?, ?)", (name, now))
        db.execute("INSERT OR IGNORE INTO blobs VALUES (?, ?, ?)", (digest, len(manifest), now))
        db.executemany("INSERT INTO repository_blobs VALUES (?, ?, ?)", [(name, config_digest, now), (name, layer_digest, now)])
        db.execute("INSERT INTO manifests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (name, digest, OCI_MANIFEST, len(manifest), None, None, json.dumps({"org.opencontainers.image.title": name}), now))
        db.executemany("INSERT INTO manifest_references VALUES (?, ?, ?)", [(name, digest, config_digest), (name, digest, layer_digest)])
        db.executemany("INSERT INTO tags VALUES (?, ?, ?, ?)", ((name, f"t{i:07d}", digest, now) for i in range(args.tags)))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"\n{args.repositories} repositories (and gen/many-tags with {args.tags} tags) in {data} ({time.time() - started:.0f} s)", file=sys.stderr)


def split_sql(script):
    """Statements of one migration step (they contain no semicolons inside literals)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


if __name__ == "__main__":
    main()
