"""`timeline serve`: the Datasette command line, and a real production-mode server."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

from test_site_support import SMALL, serving

from timeline.serve import datasette_command


def test_development_command_uses_the_site_files(tmp_path):
    for name in ("templates", "plugins", "static"):
        (tmp_path / name).mkdir()
    (tmp_path / "datasette-metadata.json").write_text("{}")
    command = datasette_command(Path("timeline.db"), tmp_path, "127.0.0.1", 9000)
    assert command[1:4] == ["-m", "datasette", "serve"]
    assert "timeline.db" in command and "--immutable" not in command

    def option(name: str) -> str:
        return command[command.index(name) + 1]

    assert option("--metadata") == str(tmp_path / "datasette-metadata.json")
    assert option("--template-dir") == str(tmp_path / "templates")
    assert option("--plugins-dir") == str(tmp_path / "plugins")
    assert option("--static") == f"static:{tmp_path / 'static'}"
    assert (option("--host"), option("--port")) == ("127.0.0.1", "9000")


def test_production_command_is_immutable_with_inspect_file_and_no_suggestions(tmp_path):
    command = datasette_command(Path("t.db"), tmp_path, "127.0.0.1", 9000, production=True)
    assert command[command.index("--immutable") + 1] == "t.db"
    assert command[command.index("--inspect-file") + 1] == str(tmp_path / "inspect-data.json")
    settings = [command[i + 1 : i + 3] for i, a in enumerate(command) if a == "--setting"]
    assert ["suggest_facets", "off"] in settings


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_production_server(tmp_path):
    shutil.copy(SMALL, tmp_path / "events.yaml")
    with serving(tmp_path, "--production") as base:
        databases = get_json(f"{base}/-/databases.json")
        assert [(d["name"], d["is_mutable"]) for d in databases] == [("timeline", False)]
        assert get_json(f"{base}/-/settings.json")["suggest_facets"] is False
        inspect = json.loads((tmp_path / "inspect-data.json").read_text())
        assert inspect["timeline"]["tables"]["events"]["count"] == 4
        rows = get_json(f"{base}/timeline/events.json?_shape=array&status=refuted")
        assert [r["id"] for r in rows] == ["fleet-destroyed-claim"]
        with urllib.request.urlopen(f"{base}/timeline", timeout=10) as response:
            assert response.status == 200
