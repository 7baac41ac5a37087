"""The chart libraries: copied from node_modules into static/vendor/ at set-up, and a site
without them (or with a stale copy) refused by `timeline serve` with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import ROOT, SITE_PARTS
from typer.testing import CliRunner

from timeline import serve, vendor
from timeline.cli import app


def fake_site(root: Path, *, installed: bool = True, copied: bool = False) -> Path:
    """A site directory with the site's files, and node_modules and static/vendor as asked."""
    for name in SITE_PARTS:
        if name != "static":
            (root / name).symlink_to(ROOT / name)
    (root / "static").mkdir()
    if installed:
        for source in vendor.FILES.values():
            path = root / "node_modules" / source
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"// {source}\n")
    if copied:
        vendor.copy(root)
    return root


def test_copy_puts_the_minified_builds_and_licences_in_static_vendor(tmp_path):
    site = fake_site(tmp_path, copied=True)
    assert sorted(p.name for p in (site / "static" / "vendor").iterdir()) == sorted(vendor.FILES)
    assert vendor.missing(site) == []


def test_copy_without_node_modules_says_to_run_npm_ci(tmp_path):
    with pytest.raises(vendor.VendorMissing, match="npm ci"):
        vendor.copy(fake_site(tmp_path, installed=False))


def test_serve_refuses_a_site_without_its_chart_libraries(tmp_path):
    site = fake_site(tmp_path)
    with pytest.raises(serve.SiteMissing, match=r"static/vendor/vega\.min\.js.*make setup"):
        serve.check_site(site)


def test_serve_refuses_libraries_older_than_node_modules(tmp_path):
    site = fake_site(tmp_path, copied=True)
    (site / "node_modules" / vendor.SCRIPTS["vega.min.js"]).write_text("// a newer vega\n")
    with pytest.raises(serve.SiteMissing, match=r"vega\.min\.js \(older than node_modules\)"):
        serve.check_site(site)


def test_timeline_serve_exits_with_the_reason(tmp_path, monkeypatch, small_yaml):
    (tmp_path / "site").mkdir()
    monkeypatch.setattr(serve, "SITE_DIR", fake_site(tmp_path / "site", installed=False))
    result = CliRunner().invoke(app, ["serve", str(small_yaml), "--port", "1"])
    assert result.exit_code == 1
    assert "chart libraries are missing" in result.output and "make setup" in result.output


def test_the_project_serves_the_versions_package_lock_installs():
    assert vendor.missing(ROOT) == []
