#!/usr/bin/env python3
"""Writes a small OCI image layout (random content, so every call is a new image) without network.
Used by the scripts in tests/clients (lib.sh's make_image).

  make-image.py DIR [ARCH] [LAYERS]   -> DIR holds an image tagged "latest"; prints its manifest digest
  make-image.py --index DIR ARCH...   -> DIR holds an image index (tag "latest") with one image per ARCH;
                                         prints the index digest, then "ARCH DIGEST" per image
  make-image.py -h | --help               -> this text

DIR is created when missing (give a temporary directory). Options other than --index are refused (exit 2).
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def put(root, data):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{root}/blobs/sha256", exist_ok=True)
    with open(f"{root}/blobs/sha256/{digest}", "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def image(root, arch, layers):
    diff_ids, descriptors = [], []
    for i in range(layers):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            content = os.urandom(2048 + 1024 * i)
            info = tarfile.TarInfo(f"layer{i}/data.bin")
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
        raw = buf.getvalue()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        gz = gzip.compress(raw, mtime=0)
        descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **put(root, gz)})
    config = json.dumps({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(root, config)},
        "layers": descriptors,
    }).encode()
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", **put(root, manifest)}


def layout(root, top):
    top = dict(top, annotations={"org.opencontainers.image.ref.name": "latest"})
    with open(f"{root}/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)
    with open(f"{root}/oci-layout", "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


def usage_error(message):
    print(f"make-image.py: {message} (see --help)", file=sys.stderr)
    sys.exit(2)


def main(args):
    if any(a in ("-h", "--help") for a in args):
        print(__doc__.strip())
        return
    index = bool(args) and args[0] == "--index"
    if index:
        args = args[1:]
    for a in args:
        if a.startswith("-"):
            usage_error(f"unknown option {a!r}")
    if index:
        if len(args) < 2:
            usage_error("--index needs DIR and at least one ARCH")
        root, arches = args[0], args[1:]
        children = [dict(image(root, a, 1), platform={"architecture": a, "os": "linux"}) for a in arches]
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children}).encode()
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", **put(root, index)}
        layout(root, top)
        print(top["digest"])
        for c in children:
            print(c["platform"]["architecture"], c["digest"])
        return
    if not 1 <= len(args) <= 3:
        usage_error("expected DIR [ARCH] [LAYERS]")
    root = args[0]
    arch = args[1] if len(args) > 1 else "amd64"
    try:
        layers = int(args[2]) if len(args) > 2 else 2
    except ValueError:
        usage_error(f"LAYERS must be a number, not {args[2]!r}")
    if layers < 1:
        usage_error("LAYERS must be at least 1")
    top = image(root, arch, layers)
    layout(root, top)
    print(top["digest"])


main(sys.argv[1:])
