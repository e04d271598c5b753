#!/usr/bin/env python3
"""mkimage.py ROOTFS OUT.tar NAME: an OCI image archive (an image layout in
a tar) of the directory ROOTFS as one gzip'ed layer, tagged NAME, made
offline for `ctr image import`."""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def main():
    rootfs, out, name = sys.argv[1:4]
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w", format=tarfile.PAX_FORMAT) as t:
        for entry in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, entry), arcname=entry)
    raw = layer_tar.getvalue()
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    gz = gzip.compress(raw, mtime=0)
    staging = out + ".layout"
    os.makedirs(os.path.join(staging, "blobs", "sha256"), exist_ok=True)
    layer, layer_size = blob(staging, gz)
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin:/sbin"]},
              "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    cfg, cfg_size = blob(staging, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": cfg_size},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer,
                            "size": layer_size}]}
    man, man_size = blob(staging, json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                 "digest": man, "size": man_size,
                                                 "annotations": {"io.containerd.image.name": name,
                                                                 "org.opencontainers.image.ref.name": name}}]}
    with open(os.path.join(staging, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(staging, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with tarfile.open(out, "w") as t:
        for entry in ("oci-layout", "index.json", "blobs"):
            t.add(os.path.join(staging, entry), arcname=entry)


if __name__ == "__main__":
    main()
