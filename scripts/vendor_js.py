"""Install the JavaScript the book serves itself, pinned, from the npm registry.

The rendered book must work without a network, so the widget manager and
require.js are not loaded from a CDN: this script fetches them at build time
into ``_vendor/`` (gitignored, never committed), and the Sphinx extension
``_ext/offline_assets.py`` copies that folder into ``_build/html/_vendor/``.
The pages point to it through ``nb_ipywidgets_js`` in ``_config.yml``.

Each package is fetched with ``npm pack`` (the tarball only, no dependency
tree: the files we serve are self-contained bundles) and checked against the
sha512 integrity pinned below before anything is unpacked. A second run with
the same pins does nothing (offline-safe); change a pin and it re-installs.

    python scripts/vendor_js.py            # install into _vendor/ if needed
    python scripts/vendor_js.py --force    # re-install
"""

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "_vendor"
STAMP = VENDOR / "VERSIONS.json"

# name -> (version, sha512 integrity of the registry tarball, files to keep).
# html-manager 1.0.x is the widget manager of ipywidgets 8.1 (8.1.9 asks for
# ^1.0.1). Files are kept relative to the package root; a trailing "/*"
# keeps a folder's files (the widget manager's icon fonts sit next to it,
# found through webpack's public path, which is the script's own folder).
PINS = {
    "@jupyter-widgets/html-manager": (
        "1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        ["dist/embed-amd.js", "dist/embed.js.LICENSE.txt", "dist/*.woff2", "dist/*.woff",
         "dist/*.ttf", "dist/*.eot", "dist/*.svg", "package.json"],
    ),
    "requirejs": (
        "2.3.8",
        "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        ["require.js", "package.json"],
    ),
}


def target_dir(name):
    """_vendor/<last part of the package name>: html-manager, requirejs."""
    return VENDOR / name.split("/")[-1]


def wanted():
    return {name: version for name, (version, _, _) in PINS.items()}


def up_to_date():
    try:
        return json.loads(STAMP.read_text()) == wanted()
    except (OSError, ValueError):
        return False


def sri_sha512(path):
    digest = hashlib.sha512(Path(path).read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def npm_pack(name, version, dest):
    """Download one package's tarball into ``dest``; return its path."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("vendor_js: npm is not installed (node >= 18 with npm is needed to build the book)")
    result = subprocess.run(
        [npm, "pack", f"{name}@{version}", "--json", "--pack-destination", str(dest)],
        capture_output=True, text=True, cwd=dest,
    )
    if result.returncode != 0:
        sys.exit(f"vendor_js: npm pack {name}@{version} failed:\n{result.stderr[-3000:]}")
    info = json.loads(result.stdout)[0]
    return Path(dest) / info["filename"]


def unpack(tarball, patterns, out):
    """Extract the kept files of an npm tarball (rooted at package/) into ``out``."""
    out.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.startswith("package/")]
        kept = 0
        for member in members:
            rel = Path(member.name).relative_to("package")
            if not any(rel.match(p) for p in patterns):
                continue
            target = out / rel.name  # flat: every kept file lies next to the others
            with tar.extractfile(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            kept += 1
    missing = [p for p in patterns if "*" not in p and not (out / Path(p).name).exists()]
    if missing or kept == 0:
        sys.exit(f"vendor_js: {tarball.name} lacks {missing or patterns}")


def install():
    with tempfile.TemporaryDirectory(prefix="vendor_js_") as tmp:
        tmp = Path(tmp)
        staging = tmp / "_vendor"
        staging.mkdir()
        for name, (version, integrity, patterns) in PINS.items():
            tarball = npm_pack(name, version, tmp)
            got = sri_sha512(tarball)
            if got != integrity:
                sys.exit(f"vendor_js: {name}@{version} integrity mismatch:\n  pinned {integrity}\n  got    {got}")
            unpack(tarball, patterns, staging / target_dir(name).name)
            print(f"vendor_js: {name}@{version} -> {target_dir(name).relative_to(ROOT)}/")
        (staging / STAMP.name).write_text(json.dumps(wanted(), indent=2, sort_keys=True) + "\n")
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        shutil.copytree(staging, VENDOR)


@contextlib.contextmanager
def lock():
    """Several builds may start at once: one installs, the others wait."""
    VENDOR.parent.mkdir(exist_ok=True)
    with open(ROOT / ".vendor.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="re-install even if up to date")
    args = parser.parse_args(argv)
    with lock():
        if up_to_date() and not args.force:
            return 0
        install()
    return 0


if __name__ == "__main__":
    sys.exit(main())
