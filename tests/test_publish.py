"""`timeline package` and `timeline publish`: the commands, and the Dockerfile Datasette writes.

There is no container engine on these machines: a stand-in `docker` on PATH keeps the build
context Datasette hands it, and the test reads the Dockerfile and files from there.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from contextlib import closing

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import ROOT, SMALL
from typer.testing import CliRunner

from timeline import publish, vendor
from timeline.cli import app

TIMELINE = [sys.executable, "-m", "timeline.cli"]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("package")
    shutil.copy(SMALL, tmp / "events.yaml")
    stub = tmp / "bin" / "docker"
    stub.parent.mkdir()
    stub.write_text('#!/bin/sh\ncp -r . "$CAPTURE"\necho "stand-in docker: $*" > "$CAPTURE.args"\n')
    stub.chmod(0o755)
    capture = tmp / "context"
    env = os.environ | {"PATH": f"{stub.parent}:{os.environ['PATH']}", "CAPTURE": str(capture)}
    proc = subprocess.run(
        [*TIMELINE, "package", str(tmp / "events.yaml"), "--build-dir", str(tmp / "build"),
         "--tag", "timeline-test"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return capture


def test_dockerfile_installs_the_pinned_site_and_serves_it_immutable(packaged):
    dockerfile = (packaged / "Dockerfile").read_text()
    for pin in ("datasette==0.65.5", "datasette-gzip==0.3",
                "/app/wheels/turkey_ukraine_timeline-"):  # fmt: skip
        assert pin in dockerfile
    assert "datasette inspect record.db --inspect-file inspect-data.json" in dockerfile
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    assert "-i record.db" in cmd and "--inspect-file inspect-data.json" in cmd
    assert "--setting suggest_facets off" in cmd and "sql_time_limit_ms 1000" in cmd
    assert "--setting facet_time_limit_ms 1000" in cmd
    for option in ("--metadata", "--template-dir", "--plugins-dir", "--static"):
        assert option in cmd


def test_the_build_context_holds_everything_the_site_needs(packaged):
    names = {p.name for p in packaged.iterdir()}
    assert {"record.db", "Dockerfile", "metadata.json"} <= names
    assert not names & {"record.db-wal", "record.db-shm"}
    # one file, readable wherever it is downloaded to or served from (no log beside it)
    with closing(sqlite3.connect(packaged / "record.db")) as conn:
        assert conn.execute("pragma journal_mode").fetchone() == ("delete",)
    assert (packaged / "plugins" / "request_checks.py").exists()
    assert (packaged / "templates" / "row-record-events.html").exists()
    assert list((packaged / "wheels").glob("turkey_ukraine_timeline-*.whl"))
    # the chart libraries and the script that draws the charts, served by the site itself
    for name in [*vendor.SCRIPTS, *vendor.LICENCES]:
        shipped = packaged / "static" / "vendor" / name
        assert shipped.read_bytes() == (ROOT / "static" / "vendor" / name).read_bytes()
    assert (packaged / "static" / "charts.js").exists()
    metadata = (packaged / "metadata.json").read_text()
    assert '"allow_sql": false' in metadata  # arbitrary SQL off on the public site


def test_publish_dry_run_prints_the_commands_with_instance_counts(tmp_path):
    shutil.copy(SMALL, tmp_path / "events.yaml")
    for target, expected in (("cloudrun", "--max-instances 4 --min-instances 2"),
                             ("fly", "flyctl scale count 2")):  # fmt: skip
        proc = subprocess.run(
            [*TIMELINE, "publish", target, str(tmp_path / "events.yaml"), "--name", "tl",
             "--max-instances", "4", "--min-instances", "2", "--build-dir",
             str(tmp_path / "build"), "--dry-run"],
            capture_output=True, text=True, cwd=ROOT, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"datasette publish {target}" in proc.stdout and expected in proc.stdout
        assert "--install datasette-gzip==0.3" in proc.stdout
        # the name is printed as datasette will format it into its shell commands
        assert ("--service tl " if target == "cloudrun" else "--app tl") in proc.stdout


def test_packaging_refuses_a_site_without_its_chart_libraries(tmp_path, monkeypatch):
    (tmp_path / "site" / "static").mkdir(parents=True)
    monkeypatch.setattr(publish, "SITE_DIR", tmp_path / "site")
    with pytest.raises(vendor.VendorMissing, match="make setup"):
        publish.prepare(SMALL, tmp_path / "build")
    assert not (tmp_path / "build").exists()  # refused before building anything
    result = CliRunner().invoke(app, ["package", str(SMALL), "--build-dir",
                                      str(tmp_path / "build"), "--dry-run"])  # fmt: skip
    assert result.exit_code == 1 and "chart libraries are missing" in result.output


def test_the_wheel_is_built_from_a_copy_and_writes_nothing_into_the_checkout(tmp_path, monkeypatch):
    """setuptools writes build/ and the egg-info into the tree it builds: built in the
    checkout, two packagings at once overwrote each other's files."""
    site = tmp_path / "site"
    publish.copy_wheel_sources(ROOT, site)
    before = sorted(site.rglob("*"))
    monkeypatch.setattr(publish, "SITE_DIR", site)
    wheel = publish.build_wheel(tmp_path / "work")
    assert sorted(site.rglob("*")) == before  # no build/, no egg-info
    assert not (tmp_path / "work" / "source").exists()
    with zipfile.ZipFile(wheel) as built:
        names = set(built.namelist())
    assert {f"timeline/{p.name}" for p in (ROOT / "timeline").glob("*.py")} <= names


HOSTILE_NAMES = ["x;touch PWNED", "x && touch PWNED", "$(touch PWNED)", "`touch PWNED`",
                 "x|touch PWNED", "x\ntouch PWNED", "-x", "X", "x-", "", "x" * 64, "x'y",
                 'x"y', "x y", "x_y", "x.y", "ẋ"]  # fmt: skip


@pytest.mark.parametrize("target", ["cloudrun", "fly"])
def test_a_name_the_host_would_refuse_is_refused_before_anything_is_built_or_run(tmp_path, target):
    """datasette publish formats the name into shell commands: 'x;touch PWNED' ran the touch.
    Stand-in gcloud, flyctl and docker on PATH record any call."""
    shutil.copy(SMALL, tmp_path / "events.yaml")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for tool in ("gcloud", "flyctl", "docker"):
        (stubs / tool).write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path}/ran-{tool}"\n')
        (stubs / tool).chmod(0o755)
    env = os.environ | {"PATH": f"{stubs}:{os.environ['PATH']}"}
    for dry_run in ([], ["--dry-run"]):
        proc = subprocess.run(
            [*TIMELINE, "publish", target, "events.yaml", "--name", "x;touch PWNED",
             "--build-dir", "build", *dry_run],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert f"'x;touch PWNED' is not a valid name for {target}" in proc.stderr
        assert "Traceback" not in proc.stderr and not proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "events.yaml"]  # nothing ran
    for name in [*HOSTILE_NAMES, *(["1x"] if target == "cloudrun" else [])]:
        result = CliRunner().invoke(app, ["publish", target, str(tmp_path / "events.yaml"),
                                          "--name", name, "--build-dir",
                                          str(tmp_path / "build")])  # fmt: skip
        assert result.exit_code == 1 and "is not a valid name" in result.output, name
    assert not (tmp_path / "build").exists()


@given(st.text(max_size=70))
def test_every_accepted_name_is_shell_safe_as_it_is(name):
    for target in publish.TARGETS:
        try:
            publish.check_name(target, name)
        except publish.BadName:
            continue
        assert shlex.quote(name) == name and len(name) <= 63 and name == name.lower()


def test_valid_names_of_each_host_are_accepted():
    assert publish.check_name("cloudrun", "turkey-ukraine-timeline") == "turkey-ukraine-timeline"
    assert publish.check_name("fly", "1st-timeline") == "1st-timeline"
    with pytest.raises(publish.BadName, match="starting with a letter"):
        publish.check_name("cloudrun", "1st-timeline")
    with pytest.raises(publish.BadName):
        publish.fly_scale_command("x;touch PWNED", 1)


def test_a_build_dir_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "build").write_text("a file\n")
    for where in ("build", "build/sub"):
        result = CliRunner().invoke(app, ["package", str(SMALL), "--build-dir",
                                          str(tmp_path / where), "--dry-run"])  # fmt: skip
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
        assert "give --build-dir a directory" in result.output
    assert (tmp_path / "build").read_text() == "a file\n"


# -- Fly: datasette-publish-fly is a declared dependency ------------------------------------------

STAND_IN_FLYCTL = """#!/bin/sh
echo "$*" >> "$FLY_LOG"
case "$1 $2" in
  "auth token") [ -n "$FLY_LOGGED_OUT" ] && { echo "not logged in" >&2; exit 1; }
                echo '{"token": "stand-in"}' ;;
  "status --app") echo "Error: Could not find App \\"$3\\"" >&2; exit 1 ;;
  "volumes list") echo "[]" ;;
  "deploy .") cp -r . "$CAPTURE" ;;
esac
"""


def _stand_in_flyctl(tmp_path) -> dict[str, str]:
    """A stand-in `flyctl` on PATH that logs its calls and keeps what `deploy` is given."""
    stub = tmp_path / "bin" / "flyctl"
    stub.parent.mkdir()
    stub.write_text(STAND_IN_FLYCTL)
    stub.chmod(0o755)
    env = {"PATH": f"{stub.parent}:{os.environ['PATH']}", "FLY_LOG": str(tmp_path / "fly.log"),
           "CAPTURE": str(tmp_path / "deployed")}  # fmt: skip
    return env


def test_publish_fly_deploys_the_site_through_the_declared_plugin(tmp_path, monkeypatch):
    """The command `timeline publish fly` runs is one datasette-publish-fly accepts: with a
    stand-in flyctl (and Fly's region API answered in place), the app is created and the
    deploy gets the pinned site, served immutable."""
    import datasette_publish_fly
    from click.testing import CliRunner as ClickRunner
    from datasette.cli import cli

    for key, value in _stand_in_flyctl(tmp_path).items():
        monkeypatch.setenv(key, value)

    class NearestRegion:
        status_code = 200

        def json(self):
            return {"data": {"nearestRegion": {"code": "ams"}}}

    monkeypatch.setattr(datasette_publish_fly.httpx, "post", lambda *a, **k: NearestRegion())
    prepared = publish.prepare(SMALL, tmp_path / "build")
    command = publish.publish_command("fly", prepared, "tl-test", max_instances=4, min_instances=2)
    assert command[:5] == [sys.executable, "-m", "datasette", "publish", "fly"]
    result = ClickRunner().invoke(cli, command[3:], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    calls = (tmp_path / "fly.log").read_text().splitlines()
    assert "apps create --name tl-test --json --org personal" in calls
    assert "deploy . --app tl-test --config fly.toml --remote-only" in calls
    deployed = tmp_path / "deployed"
    assert 'app = "tl-test"' in (deployed / "fly.toml").read_text()
    dockerfile = (deployed / "Dockerfile").read_text()
    assert "datasette==0.65.5" in dockerfile and "datasette-gzip==0.3" in dockerfile
    assert "-i record.db" in dockerfile and "--setting suggest_facets off" in dockerfile
    assert list((deployed / "wheels").glob("turkey_ukraine_timeline-*.whl"))


def test_publish_fly_reaches_flyctl_and_passes_on_its_error(tmp_path):
    """Before, `timeline publish fly` built everything, then stopped at "No such command
    'fly'". Now the plugin runs: a flyctl that is not logged in is reported as flyctl says."""
    shutil.copy(SMALL, tmp_path / "events.yaml")
    env = os.environ | _stand_in_flyctl(tmp_path) | {"FLY_LOGGED_OUT": "1"}
    proc = subprocess.run(
        [*TIMELINE, "publish", "fly", "events.yaml", "--name", "tl-test", "--build-dir", "build"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "No such command" not in proc.stderr and "Traceback" not in proc.stderr
    assert "Error calling 'flyctl auth token'" in proc.stderr and "not logged in" in proc.stderr
    assert (tmp_path / "fly.log").read_text() == "auth token --json\n"


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_a_target_datasette_cannot_publish_to_is_refused_before_anything_is_built(
    tmp_path, monkeypatch, dry_run
):
    """Without its plugin, `datasette publish fly` is "No such command": said first, with
    what to install, and nothing is built."""
    monkeypatch.setattr(publish, "publish_targets", lambda: {"cloudrun", "heroku"})
    build = str(tmp_path / "build")
    args = ["publish", "fly", str(SMALL), "--name", "tl-test", "--build-dir", build, *dry_run]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "'datasette publish fly' is not available" in result.output
    assert "datasette-publish-fly is not installed" in result.output
    assert not (tmp_path / "build").exists()


def test_every_target_of_the_cli_is_one_datasette_can_publish_to_here():
    assert set(publish.TARGETS) <= publish.publish_targets()
    for target in publish.TARGETS:
        publish.check_publisher(target)


# Builds wheels and images: left out of `make test-fast` (`-m "not packaging"`).
pytestmark = pytest.mark.packaging
