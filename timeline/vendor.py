"""The chart libraries the site serves: Vega, Vega-Lite and vega-embed, from npm; the event
map's Leaflet, Leaflet.markercluster and topojson-client; and the map's country borders
(world-atlas).

``npm ci`` (``make setup``) installs them into node_modules, pinned by package-lock.json;
``python -m timeline.vendor`` then copies their minified builds and licences into
``static/vendor/`` (not in git), so that ``timeline serve``, the tests and the packaged
image all serve the same files from the site itself: no page ever fetches a CDN.

vega-embed's browser build bundles vega-interpreter, the expression interpreter that
lets Vega draw under a Content-Security-Policy without ``unsafe-eval``
(``static/charts.js`` asks for it with ``ast: true``).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from functools import cache
from pathlib import Path

# Served name in static/vendor/ -> file under node_modules/, in the order pages load them.
SCRIPTS = {
    "vega.min.js": "vega/build/vega.min.js",
    "vega-lite.min.js": "vega-lite/build/vega-lite.min.js",
    "vega-embed.min.js": "vega-embed/build/vega-embed.min.js",
}
# Data the charts read: the map's country borders (Natural Earth, public domain, as
# TopoJSON from the world-atlas package).
DATA = {"countries-110m.json": "world-atlas/countries-110m.json"}
# The event map (only its page loads these): Leaflet draws the borders and the markers, with
# zoom and pan by wheel, pinch, keys and buttons; markercluster merges the markers that would
# overlap at the current zoom; topojson-client turns the TopoJSON borders into GeoJSON.
MAP_SCRIPTS = {
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.markercluster.js": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "topojson-client.min.js": "topojson-client/dist/topojson-client.min.js",
}
MAP_STYLES = {
    "leaflet.css": "leaflet/dist/leaflet.css",
    "MarkerCluster.css": "leaflet.markercluster/dist/MarkerCluster.css",
}
_LICENSED = ("vega", "vega-lite", "vega-embed", "vega-interpreter", "world-atlas", "leaflet",
             "topojson-client")  # fmt: skip
LICENCES = {f"{package}.LICENSE.txt": f"{package}/LICENSE" for package in _LICENSED}
LICENCES["leaflet.markercluster.LICENSE.txt"] = "leaflet.markercluster/MIT-LICENCE.txt"
FILES = SCRIPTS | DATA | MAP_SCRIPTS | MAP_STYLES | LICENCES
VENDOR = Path("static") / "vendor"


class VendorMissing(Exception):
    """The chart libraries are not in static/vendor/ (or are older than node_modules)."""


def missing(site_dir: Path) -> list[str]:
    """Vendor files absent from the site, or differing from the installed node_modules.

    A copy that differs from node_modules means package-lock.json moved on without a
    ``make setup``: serving it would mix library versions.
    """
    site_dir = Path(site_dir)
    problems = []
    for name, source in FILES.items():
        served, installed = site_dir / VENDOR / name, site_dir / "node_modules" / source
        if not served.is_file():
            problems.append(str(VENDOR / name))
        elif installed.is_file() and _digest(installed) != _digest(served):
            problems.append(f"{VENDOR / name} (older than node_modules)")
    return problems


def check(site_dir: Path) -> None:
    """Refuse to go on with a site whose charts could not be drawn."""
    problems = missing(site_dir)
    if problems:
        raise VendorMissing(
            f"the chart libraries are missing or stale: {', '.join(problems)}; "
            "run make setup (npm ci, then python -m timeline.vendor)"
        )


def copy(site_dir: Path) -> list[Path]:
    """Copy the minified builds and licences from node_modules into static/vendor/."""
    site_dir = Path(site_dir)
    sources = {name: site_dir / "node_modules" / source for name, source in FILES.items()}
    absent = [str(path) for path in sources.values() if not path.is_file()]
    if absent:
        raise VendorMissing(f"not installed: {', '.join(absent)}; run npm ci first")
    target = site_dir / VENDOR
    target.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(source, target / name)) for name, source in sources.items()]


def content_hash(path: Path) -> str:
    """The first 12 hex digits of the file's SHA-256, for cache-busting URLs (``?h=``).

    Remembered per (path, size, mtime): pages link these files on every request, and
    hashing 800 KB each time would cost more than the rest of the page's template.
    """
    stat = Path(path).stat()
    return _digest_of(str(path), stat.st_size, stat.st_mtime_ns)[:12]


def _digest(path: Path) -> str:
    stat = path.stat()
    return _digest_of(str(path), stat.st_size, stat.st_mtime_ns)


@cache
def _digest_of(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def main() -> int:
    site_dir = Path(__file__).resolve().parent.parent
    try:
        copied = copy(site_dir)
    except VendorMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Copied {len(copied)} chart library files into {site_dir / VENDOR}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
