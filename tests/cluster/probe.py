#!/usr/bin/env python3
"""Checks that need to talk to each node of a cluster directly (driven by cluster.sh). Standard library only.

  probe.py tag-move --nodes URL,URL,URL [--rounds N] [--within SECONDS] [--auth USER:PASSWORD]
      A tag is pushed through the first node and read through the others (so they cache it), then moved
      through the first node: every other node must serve the new manifest within SECONDS (default 1).

  probe.py chunked --nodes URL,URL,URL
      One chunked upload whose POST, PATCHes and PUT each go to a different node than the one before; the
      blob must read back intact from every node. Then two PATCHes of the same range sent at once to two
      nodes: exactly one is taken (202), the other refused (416), and the upload completes with the bytes
      of the one taken.
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Node:
    def __init__(self, url, auth=None):
        u = urllib.parse.urlsplit(url)
        self.url, self.host, self.port = url, u.hostname, u.port
        self.auth = auth

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.auth:
            headers["Authorization"] = "Basic " + base64.b64encode(self.auth.encode()).decode()
        if body is not None:
            headers.setdefault("Content-Length", str(len(body)))
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()


def fail(msg):
    print(f"probe: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def expect(status, wanted, what, body=b""):
    if status != wanted:
        fail(f"{what}: HTTP {status}, expected {wanted}: {body[:300]!r}")


def push_blob(node, repo, data):
    digest = sha256(data)
    status, h, body = node.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data,
                                   {"Content-Type": "application/octet-stream"})
    expect(status, 201, f"monolithic upload to {node.url}", body)
    return digest


def push_image(node, repo, tag, salt):
    config = json.dumps({"architecture": "amd64", "os": "linux", "salt": salt}).encode()
    layer = os.urandom(2048)
    cd, ld = push_blob(node, repo, config), push_blob(node, repo, layer)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": len(layer)}]}).encode()
    status, h, body = node.request("PUT", f"/v2/{repo}/manifests/{tag}", manifest, {"Content-Type": OCI_MANIFEST})
    expect(status, 201, f"manifest PUT to {node.url}", body)
    return sha256(manifest)


def served(node, repo, tag):
    status, h, body = node.request("GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
    expect(status, 200, f"GET {repo}:{tag} from {node.url}", body)
    return h.get("docker-content-digest")


def cmd_tag_move(args, nodes):
    writer, readers = nodes[0], nodes[1:]
    worst = 0.0
    for round_ in range(args.rounds):
        repo, tag = f"cluster/tag-move-{os.getpid()}-{round_}", "prod"
        old = push_image(writer, repo, tag, f"old {round_}")
        for r in readers:
            for _ in range(3):  # cached now, whatever the cache policy
                if served(r, repo, tag) != old:
                    fail(f"{r.url} does not serve the tag pushed through {writer.url}")
        new = push_image(writer, repo, tag, f"new {round_}")
        moved = time.monotonic()
        pending = set(range(len(readers)))
        while pending:
            for i in list(pending):
                if served(readers[i], repo, tag) == new:
                    pending.discard(i)
                    worst = max(worst, time.monotonic() - moved)
            elapsed = time.monotonic() - moved
            if pending and elapsed > args.within:
                fail(f"round {round_}: {', '.join(readers[i].url for i in pending)} still served the old manifest "
                     f"{elapsed:.2f} s after the tag moved through {writer.url}")
            time.sleep(0.01)
    print(f"probe: tag-move: {args.rounds} rounds, every node served the moved tag within {worst * 1000:.0f} ms (limit {args.within * 1000:.0f} ms)")


def cmd_chunked(args, nodes):
    repo = f"cluster/chunked-{os.getpid()}"
    chunk = 256 * 1024
    data = os.urandom(chunk * 7 + 1234)
    status, h, body = nodes[0].request("POST", f"/v2/{repo}/blobs/uploads/")
    expect(status, 202, "POST", body)
    location = h["location"]
    offset, turn = 0, 1
    while offset < len(data):
        piece = data[offset:offset + chunk]
        node = nodes[turn % len(nodes)]
        status, h, body = node.request("PATCH", location, piece, {
            "Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + len(piece) - 1}"})
        expect(status, 202, f"PATCH {offset} on {node.url}", body)
        if h.get("range") != f"0-{offset + len(piece) - 1}":
            fail(f"PATCH on {node.url}: Range {h.get('range')}, expected 0-{offset + len(piece) - 1}")
        location = h["location"]
        offset += len(piece)
        turn += 1
    digest = sha256(data)
    node = nodes[turn % len(nodes)]
    sep = "&" if "?" in location else "?"
    status, h, body = node.request("PUT", f"{location}{sep}digest={digest}", b"")
    expect(status, 201, f"PUT on {node.url}", body)
    for n in nodes:
        status, h, body = n.request("GET", f"/v2/{repo}/blobs/{digest}")
        expect(status, 200, f"GET blob from {n.url}", body)
        if sha256(body) != digest:
            fail(f"{n.url} serves the blob as {len(body)} bytes hashing to {sha256(body)}")

    # Two nodes append the same range of one upload at the same moment.
    for attempt in range(5):
        status, h, body = nodes[0].request("POST", f"/v2/{repo}/blobs/uploads/")
        expect(status, 202, "POST", body)
        location = h["location"]
        first = os.urandom(chunk)
        status, h, body = nodes[1].request("PATCH", location, first, {"Content-Range": f"0-{chunk - 1}", "Content-Type": "application/octet-stream"})
        expect(status, 202, "first PATCH", body)
        location = h["location"]
        bodies = [os.urandom(1024 * 1024) for _ in (0, 1)]
        results = [None, None]

        def append(i):
            try:
                results[i] = nodes[i + 1].request("PATCH", location, bodies[i], {
                    "Content-Range": f"{chunk}-{chunk + len(bodies[i]) - 1}", "Content-Type": "application/octet-stream"})
            except OSError as e:
                results[i] = (0, {}, f"{type(e).__name__}: {e}".encode())

        threads = [threading.Thread(target=append, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r[0] for r in results)
        if statuses != [202, 416]:
            fail(f"two nodes appending the same range answered {statuses}, expected one 202 and one 416: "
                 f"{[r[2][:200] for r in results]!r}")
        taken = bodies[0] if results[0][0] == 202 else bodies[1]
        whole = first + taken
        status, h, body = nodes[0].request("PUT", f"{location}{'&' if '?' in location else '?'}digest={sha256(whole)}", b"")
        expect(status, 201, "PUT after the race", body)
    print(f"probe: chunked: an upload whose {turn - 1} requests alternated between {len(nodes)} nodes committed intact; "
          f"5 concurrent appends of one range on two nodes: one taken, one refused each time")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["tag-move", "chunked"])
    ap.add_argument("--nodes", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--within", type=float, default=1.0)
    ap.add_argument("--auth")
    args = ap.parse_args()
    nodes = [Node(u, args.auth) for u in args.nodes.split(",")]
    if len(nodes) < 2:
        fail("--nodes needs at least two URLs")
    {"tag-move": cmd_tag_move, "chunked": cmd_chunked}[args.cmd](args, nodes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
