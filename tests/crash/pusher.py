#!/usr/bin/env python3
"""Client side of the kill -9 crash test (driven by kill9.sh). Python standard library only.

  pusher.py push   --url URL --journal FILE --stop FILE [--workers N] [--seed S]
      Pushes images until FILE named by --stop exists. Each push: 2-4 random layers (1 KiB .. 3 MiB,
      some uploaded monolithically with POST ?digest=, some chunked POST+PATCH..+PUT), a config
      blob, and an OCI image manifest PUT by a unique tag. The server is being killed with SIGKILL
      meanwhile: on a connection error the client waits for the server to come back and continues
      the way a real client does (resumes a chunked upload from the Range the server reports,
      repeats an idempotent request). A push is journaled, one flushed and fsynced JSON line, only
      once the manifest PUT has been answered 201 with the right Docker-Content-Digest.
      Any unexpected HTTP status is an anomaly: it is printed and the exit status is 1.

  pusher.py resume --url URL --dir DIR
      The explicit resume test. POST, PATCH a first chunk (acknowledged), start a second PATCH and
      send only half of its body, then write DIR/ready and wait for DIR/restarted (the driver kills
      the server with SIGKILL and restarts it in between). Then: GET the upload status must report
      exactly the acknowledged Range, PATCH the rest from there, PUT, and the blob must read back
      with the right digest.

  pusher.py verify --url URL --journal FILE [--data DIR]
      Every journaled push pulls back: the tag resolves to the journaled manifest digest, the
      manifest bytes hash to it, every blob GET hashes to its digest and has its size. Then, with
      --data, every file under DIR/blobs/<alg>/<xx>/<hex> must hash to its name. Exit status 1 on any failure.

  --balancer (push, verify): the URL is a load balancer (tests/cluster) in front of nodes that are
      killed: its 502, 503 and 504 answers (no node answered) count as a lost connection, which a
      real client retries, not as an anomaly.
"""

import argparse
import hashlib
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.parse

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
KIB, MIB = 1024, 1024 * 1024
# How long a client waits for the server to come back after a connection error.
SERVER_BACK_TIMEOUT = 30.0
# Statuses that mean "no server answered" (set by --balancer): a load balancer's, when the node it chose died.
LOST_STATUSES = ()


class ConnectionLost(Exception):
    """The request did not get an HTTP answer: the server died (or was not up yet)."""


class Anomaly(Exception):
    """The server answered something a correct registry must not answer here."""


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Client:
    def __init__(self, url, timeout=20.0):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None):
        """One request on a keep-alive connection; (status, headers dict lower-cased, body) or ConnectionLost."""
        headers = dict(headers or {})
        if body is not None and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(body))
        for attempt in (0, 1):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                h = {k.lower(): v for k, v in r.getheaders()}
                if h.get("connection", "").lower() == "close":
                    self.close()
                if r.status in LOST_STATUSES:
                    raise ConnectionLost(f"{method} {path}: the balancer answered {r.status}: no node answered")
                return r.status, h, data
            except (OSError, http.client.HTTPException) as e:
                self.close()
                # A kept-alive connection may have been closed by a previous server process; one
                # retry on a fresh connection tells that apart from the server being down now.
                if fresh or attempt == 1:
                    raise ConnectionLost(f"{method} {path}: {type(e).__name__}: {e}") from None
        raise AssertionError("unreachable")

    def wait_up(self, timeout=SERVER_BACK_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _, _ = self.request("GET", "/v2/")
                if status == 200:
                    return
            except ConnectionLost:
                pass
            time.sleep(0.05)
        raise Anomaly(f"server did not answer GET /v2/ within {timeout:.0f}s")


def expect(status, wanted, what, body=b""):
    if status not in wanted:
        raise Anomaly(f"{what}: HTTP {status}, expected {'/'.join(map(str, wanted))}: {body[:300]!r}")


def location_path(h, what):
    loc = h.get("location")
    if not loc:
        raise Anomaly(f"{what}: no Location header")
    u = urllib.parse.urlsplit(loc)
    return u.path + ("?" + u.query if u.query else "")


def with_query(path, **params):
    sep = "&" if "?" in path else "?"
    return path + sep + urllib.parse.urlencode(params)


def parse_range(h, what):
    """The Range header of an upload ("0-N", inclusive) as the number of bytes acknowledged."""
    value = h.get("range")
    if value is None:
        raise Anomaly(f"{what}: no Range header")
    if value == "0-0":
        return 0  # the convention for an empty upload
    start, _, end = value.partition("-")
    if start != "0" or not end.isdigit():
        raise Anomaly(f"{what}: malformed Range {value!r}")
    return int(end) + 1


class Pusher:
    def __init__(self, url, worker, rng, stats, lock):
        self.c = Client(url)
        self.worker = worker
        self.rng = rng
        self.stats = stats
        self.lock = lock

    def bump(self, key, n=1):
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + n

    def retrying(self, fn, what):
        """Runs fn until it completes without losing the connection; waits for the server in between."""
        for _ in range(50):
            try:
                return fn()
            except ConnectionLost:
                self.bump("connection_errors")
                self.c.wait_up()
        raise Anomaly(f"{what}: gave up after 50 connection losses")

    def blob_exists(self, repo, digest, size):
        status, h, body = self.c.request("HEAD", f"/v2/{repo}/blobs/{digest}")
        expect(status, (200, 404), f"HEAD blob {digest}", body)
        if status == 200 and int(h.get("content-length", -1)) != size:
            raise Anomaly(f"HEAD blob {digest}: Content-Length {h.get('content-length')}, expected {size}")
        return status == 200

    def push_monolithic(self, repo, data, digest):
        def attempt():
            status, h, body = self.c.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", body=data,
                                             headers={"Content-Type": "application/octet-stream"})
            expect(status, (201,), f"monolithic POST {digest}", body)
            if h.get("docker-content-digest") != digest:
                raise Anomaly(f"monolithic POST {digest}: Docker-Content-Digest {h.get('docker-content-digest')}")
        self.retrying(attempt, f"monolithic upload of {digest}")
        self.bump("blobs_monolithic")

    def push_chunked(self, repo, data, digest):
        size = len(data)
        # Chunk boundaries: 1-4 chunks of random size.
        # The first chunk has at least 2 bytes: Range "0-0" then always means an empty upload.
        cuts = sorted(self.rng.sample(range(2, size), self.rng.randint(0, 3)))
        chunks = list(zip([0] + cuts, cuts + [size]))
        state = {"path": None}

        def start():
            status, h, body = self.c.request("POST", f"/v2/{repo}/blobs/uploads/", body=b"")
            expect(status, (202,), "POST upload", body)
            state["path"] = location_path(h, "POST upload")
        self.retrying(start, "starting a chunked upload")

        offset = 0
        final_put_sent = False
        need_status = False
        losses = 0
        while True:
            try:
                if need_status:
                    # Where does the upload stand after the crash?
                    status, h, body = self.c.request("GET", state["path"])
                    if status == 404 and final_put_sent and self.blob_exists(repo, digest, size):
                        # The PUT committed but its answer was lost with the server.
                        self.bump("chunked_committed_unanswered")
                        break
                    expect(status, (204,), f"upload status of {digest} after a lost connection "
                                           f"({offset} of {size} bytes acknowledged before)", body)
                    acked = parse_range(h, "upload status after restart")
                    if acked > size or acked < offset:
                        raise Anomaly(f"upload status of {digest} after restart: {acked} bytes acknowledged, "
                                      f"client had {offset} of {size} acknowledged before")
                    state["path"] = location_path(h, "upload status")
                    offset = acked
                    need_status = False
                    self.bump("chunked_resumed")
                    continue
                if offset < size:
                    end = min(e for s, e in chunks if e > offset)
                    status, h, body = self.c.request("PATCH", state["path"], body=data[offset:end], headers={
                        "Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{end - 1}"})
                    expect(status, (202,), f"PATCH {offset}-{end - 1} of {digest}", body)
                    got = parse_range(h, "PATCH")
                    if got != end:
                        raise Anomaly(f"PATCH {offset}-{end - 1} of {digest}: Range says {got} bytes")
                    state["path"] = location_path(h, "PATCH")
                    offset = end
                    continue
                final_put_sent = True
                status, h, body = self.c.request("PUT", with_query(state["path"], digest=digest), body=b"")
                expect(status, (201,), f"PUT upload {digest} ({size} bytes, resumed {losses} times)", body)
                if h.get("docker-content-digest") != digest:
                    raise Anomaly(f"PUT upload {digest}: Docker-Content-Digest {h.get('docker-content-digest')}")
                break
            except ConnectionLost:
                losses += 1
                if losses > 50:
                    raise Anomaly(f"chunked upload of {digest}: gave up after 50 connection losses")
                self.bump("connection_errors")
                self.c.wait_up()
                need_status = True
        self.bump("blobs_chunked")

    def push_blob(self, repo, data, digest):
        if self.rng.random() < 0.5:
            self.push_monolithic(repo, data, digest)
        else:
            self.push_chunked(repo, data, digest)

    def push_image(self, repo, tag, reuse):
        layers = []
        for _ in range(self.rng.randint(2, 4)):
            if reuse and self.rng.random() < 0.2:
                # Same content again: the commit finds the blob file already in place.
                data = self.rng.choice(reuse)
                self.bump("blobs_reused")
            else:
                size = int(round(KIB * (3 * 1024) ** self.rng.random()))  # log-uniform 1 KiB .. 3 MiB
                data = self.rng.randbytes(size)
            digest = sha256(data)
            self.push_blob(repo, data, digest)
            layers.append({"mediaType": OCI_LAYER, "digest": digest, "size": len(data)})
            if len(data) < 256 * KIB:
                reuse.append(data)
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]},
                             "config": {"Labels": {"berth.crash.tag": tag}}}).encode()
        config_digest = sha256(config)
        self.push_blob(repo, config, config_digest)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                               "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
                               "layers": layers}, indent=2).encode()
        manifest_digest = sha256(manifest)

        def put():
            status, h, body = self.c.request("PUT", f"/v2/{repo}/manifests/{tag}", body=manifest,
                                             headers={"Content-Type": OCI_MANIFEST})
            expect(status, (201,), f"PUT manifest {repo}:{tag}", body)
            if h.get("docker-content-digest") != manifest_digest:
                raise Anomaly(f"PUT manifest {repo}:{tag}: Docker-Content-Digest {h.get('docker-content-digest')}, "
                              f"expected {manifest_digest}")
        self.retrying(put, f"PUT manifest {repo}:{tag}")
        blobs = [{"digest": config_digest, "size": len(config)}] + [{"digest": l["digest"], "size": l["size"]} for l in layers]
        return {"repo": repo, "tag": tag, "manifest": manifest_digest, "manifest_size": len(manifest), "blobs": blobs}


def cmd_push(args):
    stats, lock, anomalies = {}, threading.Lock(), []
    journal = open(args.journal, "a", encoding="utf-8")

    def worker(n):
        rng = random.Random(f"{args.seed}/{n}")
        p = Pusher(args.url, n, rng, stats, lock)
        reuse = []
        seq = 0
        while not os.path.exists(args.stop):
            seq += 1
            repo = f"crash/w{n}/{rng.choice(['alpha', 'beta', 'gamma'])}"
            tag = f"w{n}-{seq}"
            try:
                entry = p.push_image(repo, tag, reuse)
            except (Anomaly, ConnectionLost) as e:
                with lock:
                    anomalies.append(str(e))
                print(f"pusher: ANOMALY (worker {n}, {repo}:{tag}): {e}", file=sys.stderr, flush=True)
                p.c.close()
                if len(anomalies) >= 20:
                    return
                continue
            with lock:
                journal.write(json.dumps(entry) + "\n")
                journal.flush()
                os.fsync(journal.fileno())
                stats["pushes"] = stats.get("pushes", 0) + 1

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    print("pusher: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())), flush=True)
    if anomalies:
        print(f"pusher: FAIL: {len(anomalies)} unexpected answers from the server (above)", file=sys.stderr)
        return 1
    return 0


def cmd_resume(args):
    c = Client(args.url)
    repo = "crash/resume"
    rng = random.Random(args.seed)
    first, second = 1 * MIB + 12345, 2 * MIB + 777
    data = rng.randbytes(first + second)
    digest = sha256(data)

    c.wait_up()
    status, h, body = c.request("POST", f"/v2/{repo}/blobs/uploads/", body=b"")
    expect(status, (202,), "resume: POST upload", body)
    path = location_path(h, "resume: POST upload")
    status, h, body = c.request("PATCH", path, body=data[:first], headers={
        "Content-Type": "application/octet-stream", "Content-Range": f"0-{first - 1}"})
    expect(status, (202,), "resume: PATCH first chunk", body)
    if parse_range(h, "resume: PATCH first chunk") != first:
        raise Anomaly(f"resume: first PATCH acknowledged Range {h.get('range')}, expected 0-{first - 1}")
    path = location_path(h, "resume: PATCH first chunk")

    # A second chunk, cut off half way: these bytes reach the server but are never acknowledged.
    c.close()
    u = urllib.parse.urlsplit(args.url)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    s.sendall((f"PATCH {path} HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Type: application/octet-stream\r\n"
               f"Content-Range: {first}-{first + second - 1}\r\nContent-Length: {second}\r\n\r\n").encode())
    s.sendall(data[first:first + second // 2])
    time.sleep(0.5)  # let the server write what it received to the upload file
    with open(os.path.join(args.dir, "ready"), "w") as f:
        f.write(path + "\n")

    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(args.dir, "restarted")):
        if time.monotonic() > deadline:
            raise Anomaly("resume: the driver never restarted the server")
        time.sleep(0.05)
    s.close()

    status, h, body = c.request("GET", path)
    expect(status, (204,), "resume: GET upload status after kill -9 and restart", body)
    acked = parse_range(h, "resume: upload status")
    if acked != first:
        raise Anomaly(f"resume: after restart the upload reports Range {h.get('range')}, "
                      f"expected 0-{first - 1} (the acknowledged first chunk)")
    path = location_path(h, "resume: upload status")
    status, h, body = c.request("PATCH", path, body=data[first:], headers={
        "Content-Type": "application/octet-stream", "Content-Range": f"{first}-{first + second - 1}"})
    expect(status, (202,), "resume: PATCH the rest", body)
    if parse_range(h, "resume: PATCH the rest") != first + second:
        raise Anomaly(f"resume: PATCH of the rest acknowledged Range {h.get('range')}")
    path = location_path(h, "resume: PATCH the rest")
    status, h, body = c.request("PUT", with_query(path, digest=digest), body=b"")
    expect(status, (201,), "resume: PUT to complete the upload", body)
    status, h, body = c.request("GET", f"/v2/{repo}/blobs/{digest}")
    expect(status, (200,), "resume: GET the blob", body)
    if sha256(body) != digest or len(body) != len(data):
        raise Anomaly(f"resume: the blob reads back as {len(body)} bytes with digest {sha256(body)}, "
                      f"expected {len(data)} bytes with {digest}")
    print(f"resume: upload acknowledged at {first} bytes survived kill -9 (Range 0-{first - 1} after restart, "
          f"half-sent chunk discarded); completed {len(data)} bytes, digest verified")
    return 0


def cmd_verify(args):
    c = Client(args.url, timeout=60)
    failures = []

    def fail(msg):
        failures.append(msg)
        if len(failures) <= 30:
            print(f"verify: FAIL: {msg}", file=sys.stderr)

    entries = []
    with open(args.journal, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                entries.append(json.loads(line))
    verified = set()
    blob_bytes = 0
    for e in entries:
        repo, tag = e["repo"], e["tag"]
        status, h, body = c.request("GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
        if status != 200:
            fail(f"{repo}:{tag} was acknowledged but GET manifest answers HTTP {status}: {body[:200]!r}")
            continue
        if h.get("docker-content-digest") != e["manifest"]:
            fail(f"{repo}:{tag}: tag resolves to {h.get('docker-content-digest')}, journal says {e['manifest']}")
        if sha256(body) != e["manifest"] or len(body) != e["manifest_size"]:
            fail(f"{repo}:{tag}: manifest bytes hash to {sha256(body)} ({len(body)} bytes), journal says {e['manifest']}")
            continue
        m = json.loads(body)
        referenced = [m["config"]["digest"]] + [l["digest"] for l in m["layers"]]
        if referenced != [b["digest"] for b in e["blobs"]]:
            fail(f"{repo}:{tag}: manifest references {referenced}, journal says {[b['digest'] for b in e['blobs']]}")
        for b in e["blobs"]:
            if (repo, b["digest"]) in verified:
                continue
            status, h, body = c.request("GET", f"/v2/{repo}/blobs/{b['digest']}")
            if status != 200:
                fail(f"{repo}:{tag}: blob {b['digest']} answers HTTP {status}: {body[:200]!r}")
                continue
            if sha256(body) != b["digest"] or len(body) != b["size"]:
                fail(f"{repo}:{tag}: blob {b['digest']} reads back as {len(body)} bytes hashing to {sha256(body)}")
                continue
            verified.add((repo, b["digest"]))
            blob_bytes += len(body)

    files = 0
    blobs_root = os.path.join(args.data, "blobs") if args.data else None
    for alg in sorted(os.listdir(blobs_root)) if blobs_root else []:
        if alg not in ("sha256", "sha512"):
            fail(f"unexpected entry blobs/{alg}")
            continue
        for prefix in sorted(os.listdir(os.path.join(blobs_root, alg))):
            pdir = os.path.join(blobs_root, alg, prefix)
            if not os.path.isdir(pdir):
                fail(f"unexpected file blobs/{alg}/{prefix}")
                continue
            for name in sorted(os.listdir(pdir)):
                rel = f"blobs/{alg}/{prefix}/{name}"
                h = hashlib.new(alg)
                with open(os.path.join(pdir, name), "rb") as f:
                    while chunk := f.read(MIB):
                        h.update(chunk)
                files += 1
                if not name.startswith(prefix) or h.hexdigest() != name:
                    fail(f"{rel} has content hashing to {alg}:{h.hexdigest()}: a partial or corrupt blob is visible")

    uploads_dir = os.path.join(args.data, "uploads") if args.data else ""
    leftovers = len(os.listdir(uploads_dir)) if os.path.isdir(uploads_dir) else 0
    print(f"verify: {len(entries)} journaled pushes pulled back, {len(verified)} repository blobs verified by GET "
          f"({blob_bytes / MIB:.1f} MiB), {files} blob files on disk hash to their names; "
          f"{leftovers} files left in uploads/")
    if failures:
        print(f"verify: FAIL: {len(failures)} problems", file=sys.stderr)
        return 1
    if not entries:
        print("verify: FAIL: no push was acknowledged at all", file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("push")
    p.add_argument("--url", required=True)
    p.add_argument("--journal", required=True)
    p.add_argument("--stop", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", default=str(random.randrange(1 << 30)))
    p.add_argument("--balancer", action="store_true")
    r = sub.add_parser("resume")
    r.add_argument("--url", required=True)
    r.add_argument("--dir", required=True)
    r.add_argument("--seed", default=str(random.randrange(1 << 30)))
    v = sub.add_parser("verify")
    v.add_argument("--url", required=True)
    v.add_argument("--journal", required=True)
    v.add_argument("--data")
    v.add_argument("--balancer", action="store_true")
    args = ap.parse_args()
    if getattr(args, "balancer", False):
        global LOST_STATUSES
        LOST_STATUSES = (502, 503, 504)
    try:
        return {"push": cmd_push, "resume": cmd_resume, "verify": cmd_verify}[args.cmd](args)
    except (Anomaly, ConnectionLost) as e:
        print(f"pusher {args.cmd}: FAIL: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
