"""Package or publish the site: everything it needs, handed to ``datasette package`` /
``datasette publish``.

The database is built fresh from the YAML; the image installs this project as a
wheel (the plugins import it) with the pinned Datasette and plugin versions;
metadata, templates, plugins and static files go in; the database is served
immutable with the inspect file Datasette's Dockerfile precomputes, facet
suggestions off and arbitrary SQL off (the production metadata), and the host
gets an explicit instance count so it can scale out stateless replicas.

Example::

    prepared = prepare(Path("events.yaml"), Path("build"))
    print(" ".join(package_command(prepared, tag="timeline")))
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from . import vendor
from .build import DEFAULT_DB_NAME, build_file
from .serve import PRODUCTION_METADATA, SITE_DIR, setting_options, write_production_metadata
from .store import standalone

PLUGINS = ("datasette-gzip",)

# Each host's rule for the name the site is published under. `datasette publish` formats the
# name into shell commands (while --dry-run prints it quoted), so a name is checked against
# its host's rule before any command is built: every accepted name is shell-safe as it is.
NAME_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "cloudrun": (
        re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"),
        "a Cloud Run service name is 1-63 lowercase letters, digits and hyphens, starting "
        "with a letter and not ending with a hyphen",
    ),
    "fly": (
        re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"),
        "a Fly app name (its host name on fly.dev) is 1-63 lowercase letters, digits and "
        "hyphens, not starting or ending with a hyphen",
    ),
}
TARGETS = tuple(NAME_RULES)


# The distribution that gives `datasette publish` each target it does not have built in
# (a dependency in pyproject.toml; not shipped in the image, which only serves).
PUBLISH_PLUGINS = {"fly": "datasette-publish-fly"}


class BadName(ValueError):
    """A service or app name its host would refuse, or a shell would read as commands."""


class NoPublisher(RuntimeError):
    """``datasette publish`` has no subcommand for the target here."""


def publish_targets() -> set[str]:
    """The targets ``datasette publish`` offers here: its own and its installed plugins'."""
    from datasette.cli import cli  # registers the plugins' publish_subcommand hooks

    return set(cli.commands["publish"].commands)


def check_publisher(target: str) -> None:
    """NoPublisher (saying what to install) when ``datasette publish TARGET`` would fail
    with "No such command", which it says only after the whole build."""
    if target not in publish_targets():
        plugin = PUBLISH_PLUGINS.get(target, f"a datasette plugin for {target}")
        raise NoPublisher(
            f"'datasette publish {target}' is not available: {plugin} is not installed; "
            "install the project with its dependencies (pip install -e . or make setup)"
        )


def check_name(target: str, name: str) -> str:
    """``name`` if it follows ``target``'s rule; BadName (saying the rule) otherwise."""
    pattern, rule = NAME_RULES[target]
    if not pattern.fullmatch(name):
        raise BadName(f"{name!r} is not a valid name for {target}: {rule}")
    return name


@dataclass(frozen=True)
class Prepared:
    db: Path
    metadata: Path
    wheel: Path


def pinned() -> list[str]:
    """Datasette and its plugins at exactly the versions the site is tested with."""
    return [f"{name}=={version(name)}" for name in ("datasette", *PLUGINS)]


def prepare(yaml_path: Path, workdir: Path) -> Prepared:
    """Build the database fresh, write the production metadata and this project's wheel.

    Refuses (VendorMissing) when the chart libraries are not in static/vendor/: the image
    would serve pages whose charts never draw.
    """
    vendor.check(SITE_DIR)
    workdir.mkdir(parents=True, exist_ok=True)
    db = build_file(yaml_path, workdir / DEFAULT_DB_NAME, force=True).db_path
    standalone(db)  # served immutable and downloaded: one file, no log beside it
    metadata = write_production_metadata(SITE_DIR, workdir / PRODUCTION_METADATA)
    return Prepared(db, metadata, build_wheel(workdir))


# What the wheel is made of: the package and what pyproject.toml reads.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "timeline")


def copy_wheel_sources(site: Path, into: Path) -> None:
    """Copy what the wheel is made of (WHEEL_SOURCES, without bytecode) from ``site``."""
    into.mkdir(parents=True)
    for name in WHEEL_SOURCES:
        if (site / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(site / name, into / name, ignore=ignore)
        else:
            shutil.copy2(site / name, into / name)


def build_wheel(workdir: Path) -> Path:
    """This project's wheel, built from a copy of its sources in ``workdir``.

    setuptools writes ``build/`` and the egg-info into the tree it builds: building in
    the checkout, two packagings at once (two terminals, tests side by side) wrote over
    each other's files.
    """
    source, wheels = workdir / "source", workdir / "wheels"
    shutil.rmtree(source, ignore_errors=True)
    shutil.rmtree(wheels, ignore_errors=True)
    copy_wheel_sources(SITE_DIR, source)
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
             "--wheel-dir", str(wheels), str(source)],
            check=True,
        )  # fmt: skip
    finally:
        shutil.rmtree(source, ignore_errors=True)
    (wheel,) = wheels.glob("*.whl")
    return wheel


def _site_options(prepared: Prepared) -> list[str]:
    options = ["--metadata", str(prepared.metadata),
               "--template-dir", str(SITE_DIR / "templates"),
               "--plugins-dir", str(SITE_DIR / "plugins"),
               "--static", f"static:{SITE_DIR / 'static'}",
               "--static", f"wheels:{prepared.wheel.parent}"]  # fmt: skip
    for requirement in (*pinned(), f"/app/wheels/{prepared.wheel.name}"):
        options += ["--install", requirement]
    return [*options, "--extra-options", shlex.join(setting_options())]


def package_command(prepared: Prepared, tag: str) -> list[str]:
    """``datasette package``: a Docker image of the site (needs a container engine)."""
    return [sys.executable, "-m", "datasette", "package", str(prepared.db), "--tag", tag,
            *_site_options(prepared)]  # fmt: skip


def publish_command(
    target: str, prepared: Prepared, name: str, *, max_instances: int, min_instances: int
) -> list[str]:
    """``datasette publish cloudrun|fly`` with an explicit instance count."""
    check_name(target, name)
    command = [sys.executable, "-m", "datasette", "publish", target, str(prepared.db)]
    command += _site_options(prepared)
    if target == "cloudrun":
        command += ["--service", name, "--max-instances", str(max_instances),
                    "--min-instances", str(min_instances)]  # fmt: skip
    else:  # datasette-publish-fly scales with `fly scale count` after the deploy
        command += ["--app", name]
    return command


def fly_scale_command(name: str, count: int) -> list[str]:
    return ["flyctl", "scale", "count", str(count), "--app", check_name("fly", name)]
