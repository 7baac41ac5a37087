"""`timeline fmt`: one canonical layout, idempotent, data and comments kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from timeline.cli import app
from timeline.layout import format_text

runner = CliRunner()
SMALL = Path(__file__).parent / "data" / "small.yaml"

COMMENTED = """\
# Header comment, kept verbatim.

sources:  # the evidence
  - id: s1
    # a comment before a field
    title: Title
    publisher: Pub
    published: 2021
    kind: news
    language: en
actors: []
# before the events section
events:
  # leading comment of the later event
  - title: Later   # end of line
    id: b-later
    date: "2021-05"
    summary: Later.
    type: statement
    status: confirmed
    citations:
      # a comment inside a nested list
      - {source: s1, quote: Q}
  - id: a-earlier
    date: 15 April 2021
    title: Earlier
    summary: Earlier.
    type: statement
    status: confirmed
    citations:
      - source: s1
        quote: "Q2"
# trailing comment
"""


def fmt(text: str) -> str:
    return format_text(text, Path("events.yaml"))


def test_canonical_layout_is_idempotent():
    once = fmt(COMMENTED)
    assert fmt(once) == once
    small = fmt(SMALL.read_text())
    assert fmt(small) == small


def test_data_is_unchanged_except_canonical_dates():
    before = yaml.safe_load(COMMENTED)
    after = yaml.safe_load(fmt(COMMENTED))
    assert after["sources"][0]["published"] == "2021"
    by_id = {e["id"]: e for e in after["events"]}
    assert by_id["a-earlier"]["date"] == "2021-04-15"
    for event in before["events"]:
        formatted = by_id[event["id"]]
        assert {k: v for k, v in event.items() if k != "date"} == {
            k: v for k, v in formatted.items() if k != "date"
        }


def test_events_sorted_by_date_and_keys_in_schema_order():
    out = fmt(COMMENTED)
    assert out.index("- id: a-earlier") < out.index("- id: b-later")
    later = out[out.index("- id: b-later") :]
    assert later.index("id:") < later.index("date:") < later.index("title:")


def test_every_comment_is_kept_next_to_what_it_annotates():
    out = fmt(COMMENTED)
    lines = out.splitlines()
    assert lines[0] == "# Header comment, kept verbatim."
    assert "sources:  # the evidence" in lines
    assert lines[lines.index("    title: Title") - 1] == "    # a comment before a field"
    assert lines[lines.index("events:") - 1] == "# before the events section"
    later = lines.index("  - id: b-later")
    assert lines[later - 1] == "  # leading comment of the later event"
    assert "    title: Later  # end of line" in lines
    citations = lines.index("    citations:", later)
    assert lines[citations - 1] == "    # a comment inside a nested list"
    assert lines[-1] == "# trailing comment"
    assert sum(line.lstrip().startswith("#") or " # " in line for line in lines) == 8


def test_fmt_check_and_write(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_text(COMMENTED)
    path.chmod(0o640)
    check = runner.invoke(app, ["fmt", str(path), "--check"])
    assert check.exit_code == 1
    assert '+    date: "2021-04-15"' in check.stdout and "not in canonical layout" in check.stderr
    assert path.read_text() == COMMENTED
    assert runner.invoke(app, ["fmt", str(path)]).exit_code == 0
    assert (path.stat().st_mode & 0o777) == 0o640
    again = runner.invoke(app, ["fmt", str(path), "--check"])
    assert again.exit_code == 0 and "already in canonical layout" in again.stdout


def test_fmt_refuses_broken_yaml_cleanly(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_text("sources: [\n")
    result = runner.invoke(app, ["fmt", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"{path}:")
    path.write_text("sources: 3\nactors: []\nevents: []\n")
    result = runner.invoke(app, ["fmt", str(path)])
    assert result.exit_code == 1 and "run 'timeline validate'" in result.stderr


def test_keys_that_are_not_text_beside_misspelt_ones_are_kept_after_them(tmp_path):
    """Unknown keys go last, sorted; 1, null and 1.5 used to fail the sort."""
    small = (Path(__file__).parent / "data" / "small.yaml").read_text(encoding="utf-8")
    title = "    title: Russia suspends flights to Turkey\n"
    path = tmp_path / "events.yaml"
    path.write_text(small.replace(title, f"{title}    1: x\n    titel: y\n    null: n\n"
                                  "    1.5: f\n"))  # fmt: skip
    result = runner.invoke(app, ["fmt", str(path)])
    assert result.exit_code == 0 and result.exception is None, result.output
    event = next(e for e in yaml.safe_load(path.read_text())["events"]
                 if e["id"] == "flight-suspension")  # fmt: skip
    assert list(event)[-4:] == ["titel", 1, 1.5, None]  # text first, then by their text
    assert runner.invoke(app, ["fmt", "--check", str(path)]).exit_code == 0


def test_fmt_refuses_a_records_bad_value_as_the_whole_file_does_without_reading_it_whole(
    tmp_path, monkeypatch
):
    """A date that is not one, in a record of a large file: the whole file's message and
    position, from the records alone (reading a 100,000-event file whole took GiBs)."""
    import sys

    from timeline import load

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from generate import realistic_yaml

    text = realistic_yaml(40, seed=2)
    at = text.index("\n    date: ", len(text) // 2)
    text = text[:at] + "\n    date: 2019-02-30\n    was: " + text[at + len("\n    date: ") :]
    path = tmp_path / "events.yaml"
    path.write_text(text, encoding="utf-8")
    lengths: list[int] = []
    real = load._Loader
    monkeypatch.setattr(load, "_Loader", lambda t: lengths.append(len(t)) or real(t))
    monkeypatch.setattr(load, "PARALLEL_BYTES", 0)  # and with the second reader
    result = runner.invoke(app, ["fmt", str(path), "--check"])
    line = text[:at].count("\n") + 2
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:{line}:11: '2019-02-30' cannot be read as a real date")
    assert lengths and max(lengths) < len(text) / 4
    assert path.read_text(encoding="utf-8") == text


def test_a_refused_value_and_deeper_nesting_elsewhere_give_the_whole_files_error(tmp_path):
    """The whole file's reading refuses nesting past the limit before it reads any value:
    so does fmt when a record's value is refused too, wherever the two are."""
    import sys

    from timeline.load import LoadError
    from timeline.reformat import lay_out

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from generate import realistic_yaml

    text = realistic_yaml(20, seed=2)
    dates = [i for i in range(len(text)) if text.startswith("\n    date: ", i)]
    first, last = dates[len(dates) // 3], dates[-2]
    deep = "\n    notes: " + "[" * 40 + "]" * 40 + "\n    was: "
    text = (
        text[:first]
        + "\n    date: 2019-02-30\n    was: "
        + text[first + 11 : last]
        + deep
        + text[last + 11 :]
    )
    path = tmp_path / "events.yaml"
    with pytest.raises(LoadError) as whole:
        format_text(text, path)
    with pytest.raises(LoadError) as by_record:
        lay_out(text.encode(), path)
    assert "nesting deeper" in whole.value.message
    assert (str(by_record.value), by_record.value.mark) == (str(whole.value), whole.value.mark)
