#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test images for pull.bats, written as OCI image layouts that skopeo pushes.

    mkfixture.py BASE OUT NAME

BASE is the busybox layout contrib/mkimage.sh makes (tag `latest`); OUT is the layout to write
(created, or added to); NAME is the fixture:

  whiteouts   busybox + a layer of files + a layer of file, directory and opaque whiteouts (one
              opaque marker written after files of the same directory) and type changes
  multiarch   an index: linux/amd64 and linux/arm64/v8 (a /etc/arch file each) and an
              unknown/unknown attestation manifest, as buildx pushes them
  zstd        busybox + a zstd-compressed layer
  big         busybox + an incompressible 24 MiB layer (for cut and resumed downloads)
  shared-a, shared-b
              busybox + a small layer of their own: two images that share the base layer
  symlink-escape
              a layer with a symlink to a host directory, then a layer writing through it
  hardlink-escape
              a layer with a hardlink to a host file
  dotdot      a layer with a `../` path

Every layer is built in memory with tarfile and described with its real digest and diff_id.
The tag in OUT is NAME.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        lay = os.path.join(path, "oci-layout")
        if not os.path.exists(lay):
            with open(lay, "w") as f:
                json.dump({"imageLayoutVersion": "1.0.0"}, f)
        idx = os.path.join(path, "index.json")
        if os.path.exists(idx):
            with open(idx) as f:
                self.index = json.load(f)
        else:
            self.index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}

    def put(self, data):
        d = sha256(data)
        p = os.path.join(self.path, "blobs", "sha256", d[7:])
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(data)
        return d

    def get(self, digest):
        with open(os.path.join(self.path, "blobs", "sha256", digest[7:]), "rb") as f:
            return f.read()

    def put_json(self, doc, media_type):
        data = json.dumps(doc, indent=1).encode()
        return {"mediaType": media_type, "digest": self.put(data), "size": len(data)}

    def tag(self, desc, name):
        desc = dict(desc)
        desc["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.index["manifests"] = [
            m for m in self.index["manifests"]
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != name
        ] + [desc]
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump(self.index, f)

    def manifest(self, name):
        for m in self.index["manifests"]:
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == name:
                return json.loads(self.get(m["digest"]))
        raise SystemExit("mkfixture: no tag %s in %s" % (name, self.path))


def tar_bytes(entries):
    """entries: (TarInfo, data or None) in archive order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return buf.getvalue()


def entry(name, kind="file", data=b"", mode=None, target=None, uid=0, gid=0, pax=None):
    i = tarfile.TarInfo(name)
    i.uid, i.gid = uid, gid
    i.mtime = 1700000000
    if kind == "file":
        i.type = tarfile.REGTYPE
        i.mode = 0o644 if mode is None else mode
    elif kind == "dir":
        i.type = tarfile.DIRTYPE
        i.mode = 0o755 if mode is None else mode
        data = None
    elif kind == "symlink":
        i.type = tarfile.SYMTYPE
        i.linkname = target
        i.mode = 0o777
        data = None
    elif kind == "hardlink":
        i.type = tarfile.LNKTYPE
        i.linkname = target
        i.mode = 0o644
        data = None
    if pax:
        i.pax_headers = pax
    return (i, data)


def compress(raw, how):
    if how == "gzip":
        return gzip.compress(raw, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, stdout=subprocess.PIPE, check=True).stdout
    return raw


def add_layer(lay, entries, how="gzip"):
    raw = tar_bytes(entries)
    blob = compress(raw, how)
    return {"mediaType": LAYER[how], "digest": lay.put(blob), "size": len(blob)}, sha256(raw)


def base_image(base):
    """The busybox image: its layer descriptors, diff_ids and config."""
    m = base.manifest("latest")
    cfg = json.loads(base.get(m["config"]["digest"]))
    return m["layers"], cfg["rootfs"]["diff_ids"], cfg


def write_image(lay, base, extra, arch="amd64", variant=None, name=None):
    """An image: the base layers (copied from BASE) and extra (descriptor, diff_id) pairs."""
    layers, diff_ids, cfg = base_image(base)
    for d in layers:
        lay.put(base.get(d["digest"]))
    layers = list(layers) + [d for d, _ in extra]
    diff_ids = list(diff_ids) + [i for _, i in extra]
    cfg = dict(cfg)
    cfg["architecture"] = arch
    if variant:
        cfg["variant"] = variant
    else:
        cfg.pop("variant", None)
    cfg["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    cfg["history"] = [{"created_by": "mkfixture %d" % i} for i in range(len(layers))]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": lay.put_json(cfg, OCI_CONFIG),
        "layers": layers,
    }
    desc = lay.put_json(manifest, OCI_MANIFEST)
    if name:
        lay.tag(desc, name)
    return desc


def whiteouts(base, lay):
    files = add_layer(lay, [
        entry("data/", "dir"),
        entry("data/gone", data=b"gone\n"),
        entry("data/kept", data=b"kept\n"),
        entry("data/dir/", "dir"),
        entry("data/dir/inner", data=b"inner\n"),
        entry("data/opq/", "dir"),
        entry("data/opq/old1", data=b"old1\n"),
        entry("data/opq/old2", data=b"old2\n"),
        entry("data/late/", "dir"),
        entry("data/late/old", data=b"old\n"),
        entry("data/f2d", data=b"was a file\n"),
        entry("data/d2f/", "dir"),
        entry("data/d2f/x", data=b"x\n"),
        entry("data/d2l/", "dir"),
        entry("data/d2l/y", data=b"y\n"),
        entry("data/big-uid", data=b"uid\n", uid=100000, gid=100000, mode=0o4755),
    ])
    changes = add_layer(lay, [
        entry("data/", "dir"),
        entry("data/.wh.gone", data=b""),  # file whiteout
        entry("data/.wh.dir", data=b""),  # directory whiteout
        entry("data/opq/", "dir"),
        entry("data/opq/.wh..wh..opq", data=b""),  # opaque, before the new files
        entry("data/opq/new", data=b"new\n"),
        entry("data/late/", "dir"),
        entry("data/late/new", data=b"new\n"),
        entry("data/late/.wh..wh..opq", data=b""),  # opaque, after a file of the same layer
        # Type changes are the new entry alone: it replaces what the lower layer had.
        entry("data/f2d/", "dir"),  # file -> directory
        entry("data/f2d/now", data=b"dir now\n"),
        entry("data/d2f", data=b"file now\n"),  # directory -> file
        entry("data/d2l", "symlink", target="kept"),  # directory -> symlink
    ])
    write_image(lay, base, [files, changes], name="whiteouts")


def multiarch(base, lay):
    amd = write_image(lay, base, [add_layer(lay, [entry("etc/arch", data=b"amd64\n")])], arch="amd64")
    arm = write_image(lay, base, [add_layer(lay, [entry("etc/arch", data=b"arm64\n")])], arch="arm64", variant="v8")
    amd["platform"] = {"architecture": "amd64", "os": "linux"}
    arm["platform"] = {"architecture": "arm64", "os": "linux", "variant": "v8"}
    # A buildx attestation: an in-toto statement about the amd64 image.
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "subject": []}).encode()
    att_layer = {"mediaType": "application/vnd.in-toto+json", "digest": lay.put(statement), "size": len(statement),
                 "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}}
    att_cfg = {"architecture": "unknown", "os": "unknown", "config": {},
               "rootfs": {"type": "layers", "diff_ids": [sha256(statement)]}}
    att = lay.put_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": lay.put_json(att_cfg, OCI_CONFIG),
                        "layers": [att_layer]}, OCI_MANIFEST)
    att["platform"] = {"architecture": "unknown", "os": "unknown"}
    att["annotations"] = {"vnd.docker.reference.type": "attestation-manifest",
                          "vnd.docker.reference.digest": amd["digest"]}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [amd, arm, att]}
    lay.tag(lay.put_json(index, OCI_INDEX), "multiarch")


def zstd(base, lay):
    layer = add_layer(lay, [entry("zstd/", "dir"), entry("zstd/hello", data=b"compressed with zstd\n" * 100)], "zstd")
    write_image(lay, base, [layer], name="zstd")


def big(base, lay):
    data = os.urandom(24 << 20)
    layer = add_layer(lay, [entry("big", data=data)], "none")
    write_image(lay, base, [layer], name="big")


def shared(base, lay, which):
    layer = add_layer(lay, [entry("which", data=(which + "\n").encode())])
    write_image(lay, base, [layer], name="shared-" + which)


def symlink_escape(base, lay, target):
    first = add_layer(lay, [entry("evil", "symlink", target=target)])
    second = add_layer(lay, [entry("evil/pwned", data=b"escaped\n")])
    write_image(lay, base, [first, second], name="symlink-escape")


def hardlink_escape(base, lay, target):
    layer = add_layer(lay, [entry("stolen", "hardlink", target=target)])
    write_image(lay, base, [layer], name="hardlink-escape")


def dotdot(base, lay, target):
    layer = add_layer(lay, [entry("../../../../../../.." + target, data=b"escaped\n")])
    write_image(lay, base, [layer], name="dotdot")


def main():
    if len(sys.argv) < 4:
        raise SystemExit("usage: mkfixture.py BASE OUT NAME [HOST-PATH]")
    base, lay, name = Layout(sys.argv[1]), Layout(sys.argv[2]), sys.argv[3]
    arg = sys.argv[4] if len(sys.argv) > 4 else "/tmp/isolazi-escape"
    if name == "whiteouts":
        whiteouts(base, lay)
    elif name == "multiarch":
        multiarch(base, lay)
    elif name == "zstd":
        zstd(base, lay)
    elif name == "big":
        big(base, lay)
    elif name in ("shared-a", "shared-b"):
        shared(base, lay, name[-1])
    elif name == "symlink-escape":
        symlink_escape(base, lay, arg)
    elif name == "hardlink-escape":
        hardlink_escape(base, lay, arg)
    elif name == "dotdot":
        dotdot(base, lay, arg)
    else:
        raise SystemExit("mkfixture: unknown fixture " + name)


if __name__ == "__main__":
    main()
