"""Vendor the dashboard's charting library into the package, reproducibly: the pinned
releases of Apache ECharts and its word-cloud extension are downloaded from the npm registry,
checked against the registry's sha512 integrity, and only the minified browser builds and
their licence files are kept, with a manifest of what came from where. The service serves
them itself; nothing is loaded from another host at run time.

    python -m monitor.web.vendor_build     # needs the npm registry, once, by a developer
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import urllib.request
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
REGISTRY = "https://registry.npmjs.org"
# name, version, the files kept (path in the package → name here)
PACKAGES = (
    ("echarts", "5.6.0", {"package/dist/echarts.min.js": "echarts.min.js",
                          "package/LICENSE": "LICENSE-echarts.txt",
                          "package/NOTICE": "NOTICE-echarts.txt"}),
    # 2.1.0 is the release for ECharts 5 (its peer dependency is echarts ^5.0.1); the package
    # has no licence file: its package.json, which names the licence (ISC) and the authors,
    # is kept with it
    ("echarts-wordcloud", "2.1.0", {"package/dist/echarts-wordcloud.min.js":
                                    "echarts-wordcloud.min.js",
                                    "package/package.json": "package-echarts-wordcloud.json"}),
)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 (a fixed https URL)
        return bytes(resp.read())


def vendor() -> dict[str, object]:
    VENDOR.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {}
    for name, version, keep in PACKAGES:
        meta = json.loads(_get(f"{REGISTRY}/{name}/{version}"))
        tarball = _get(meta["dist"]["tarball"])
        algorithm, _, expected = str(meta["dist"]["integrity"]).partition("-")
        if algorithm != "sha512" or base64.b64encode(hashlib.sha512(tarball).digest()).decode() \
                != expected:
            raise SystemExit(f"{name}@{version}: the tarball does not match the registry's "
                             "integrity; nothing written")
        files = {}
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for member, target in keep.items():
                data = archive.extractfile(member)
                if data is None:
                    raise SystemExit(f"{name}@{version}: no {member} in the package")
                content = data.read()
                (VENDOR / target).write_bytes(content)
                files[target] = hashlib.sha256(content).hexdigest()
        manifest[name] = {"version": version, "license": meta.get("license"),
                          "tarball": meta["dist"]["tarball"],
                          "integrity": meta["dist"]["integrity"], "files": files}
    (VENDOR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                          encoding="utf-8")
    return manifest


if __name__ == "__main__":
    for package, about in vendor().items():
        print(package, about["version"], about["license"])  # type: ignore[index]
