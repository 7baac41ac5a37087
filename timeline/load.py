"""Read ``events.yaml`` safely and remember where every value was written.

PyYAML's C loader composes the node graph once; we walk that graph to record
line/column positions, refuse what a safe curated file never needs (unknown
tags, duplicate keys, alias bombs, huge scalars, deep nesting), and then
construct plain Python data from the same graph.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

Path_ = tuple[str | int, ...]

# A hand-written file needs few aliases; a "billion laughs" file expands to millions of nodes.
MAX_ALIAS_EXPANSION = 1_000
MAX_SCALAR_CHARS = 20_000
MAX_DEPTH = 32
# Characters no curated text needs and that can hide or disguise text: C0/C1 controls
# (tab and newline excepted), line/paragraph separators (YAML 1.1 line breaks that a
# round trip turns into spaces), bidirectional overrides and isolates, lone
# surrogates and a stray byte-order mark. Refused whether written raw or escaped.
FORBIDDEN_CHARS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufeff]"
)
# The only number forms a curator writes. YAML 1.1 also reads 0700 (octal), 0x7E3,
# 2_019, 33:39 (base 60), +2019, .nan and .inf as numbers: all are refused.
PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
PLAIN_FLOAT = re.compile(r"-?[0-9]{1,18}\.[0-9]{1,18}(?:[eE][-+][0-9]{1,3})?")
_NUMBER_FORMS = {"tag:yaml.org,2002:int": PLAIN_INT, "tag:yaml.org,2002:float": PLAIN_FLOAT}
SAFE_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
}


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column in the source file."""

    line: int
    column: int


class LoadError(Exception):
    """The file could not be read as YAML; carries the position of the fault."""

    def __init__(self, message: str, mark: Mark | None = None, hint: str = "", path: Path_ = ()):
        super().__init__(message)
        self.message = message
        self.mark = mark or Mark(1, 1)
        self.hint = hint
        self.path = path  # the value's place in the document, when known


@dataclass
class Document:
    """Parsed YAML plus the position of every value (and of every mapping key)."""

    data: object
    path: Path
    # PyYAML's own (0-based) marks; converting ~300k of them eagerly would double load time.
    values: dict[Path_, yaml.Mark] = field(default_factory=dict)
    keys: dict[Path_, yaml.Mark] = field(default_factory=dict)

    def mark(self, path: Path_, *, key: bool = False) -> Mark:
        """The closest known position for ``path`` (walking up to its parents)."""
        table = self.keys if key else self.values
        while path:
            found = table.get(path) or self.values.get(path)
            if found:
                return Mark(found.line + 1, found.column + 1)
            path = path[:-1]
        root = self.values.get(())
        return Mark(root.line + 1, root.column + 1) if root else Mark(1, 1)


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def decode(raw: bytes) -> str:
    """UTF-8 text of the file (BOM dropped); LoadError with the position of a bad byte."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise LoadError(
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            Mark(line, column),
            "save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def _index(doc: Document, root: yaml.Node) -> None:
    """Record positions and enforce the safety limits, without expanding aliases."""
    seen: set[int] = set()
    has_aliases = False
    stack: list[tuple[yaml.Node, Path_, int]] = [(root, (), 0)]
    while stack:
        node, path, depth = stack.pop()
        if id(node) in seen:
            has_aliases = True  # its target was (or will be) indexed where it was defined
            continue
        seen.add(id(node))
        doc.values[path] = node.start_mark
        if depth > MAX_DEPTH:
            raise LoadError(f"nesting deeper than {MAX_DEPTH} levels", _mark(node))
        if node.tag not in SAFE_TAGS:
            raise LoadError(
                f"the tag {node.tag!r} is not allowed",
                _mark(node),
                "remove the tag; only plain strings, numbers, dates, lists and mappings are used",
            )
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(node, path)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, (*path, i), depth + 1) for i, child in enumerate(node.value))
        else:
            _index_mapping(doc, node, path, depth, stack)
    extra = _alias_expansion(root) if has_aliases else 0
    if extra > MAX_ALIAS_EXPANSION:
        raise LoadError(
            f"aliases expand to {extra:,} extra values (limit {MAX_ALIAS_EXPANSION:,})",
            _mark(root),
            "write values out instead of using YAML anchors and aliases",
        )


def _check_scalar(node: yaml.ScalarNode, path: Path_) -> None:
    """Refuse oversized values, hidden characters and number forms nobody means."""
    value = node.value
    if len(value) > MAX_SCALAR_CHARS:
        raise LoadError(
            f"a value of {len(value):,} characters (limit {MAX_SCALAR_CHARS:,})",
            _mark(node),
            "quotes and summaries should be short",
            path,
        )
    hidden = hidden_character(value)
    if hidden:
        raise LoadError(hidden, _mark(node), HIDDEN_HINT, path)
    form = _NUMBER_FORMS.get(node.tag)
    if form is not None and not form.fullmatch(value):
        raise LoadError(
            f"{_short(value)} is not a plain decimal number, but YAML would read it as one "
            "(octal, hexadecimal, base 60, with underscores, or out of range)",
            _mark(node),
            'quote it to keep it as text (a year is written 2019 or "2019"), '
            "or write a plain decimal number such as 30.52",
            path,
        )


HIDDEN_HINT = (
    "remove it: control characters, line separators and direction overrides hide or "
    "disguise text (also when written as an escape such as \\e or \\x85)"
)


def hidden_character(value: str) -> str | None:
    """What is wrong with a value holding a character that hides or disguises text, if any."""
    bad = FORBIDDEN_CHARS.search(value)
    return f"the character U+{ord(bad.group()):04X} is not allowed in a value" if bad else None


def _short(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return []


def _alias_expansion(root: yaml.Node) -> int:
    """How many values expanding every alias would add to the document (capped)."""
    cap = 10**9
    sizes: dict[int, int] = {}  # finished nodes
    entered: set[int] = set()  # nodes on the current depth-first path
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            entered.discard(id(node))
            sizes[id(node)] = min(cap, 1 + sum(sizes[id(c)] for c in _children(node)))
        elif id(node) in entered:
            raise LoadError("a recursive alias (a value that contains itself)", _mark(node))
        elif id(node) not in sizes:
            entered.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)] - len(sizes)


def _index_mapping(doc: Document, node: yaml.MappingNode, path: Path_, depth: int, stack) -> None:
    first_seen: dict[str, yaml.Mark] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise LoadError("a mapping key must be a plain word", _mark(key_node))
        _check_scalar(key_node, path)
        key = key_node.value
        if key == "<<":
            raise LoadError(
                "merge keys (<<) are not allowed", _mark(key_node), "write the keys out"
            )
        if key in first_seen:
            raise LoadError(
                f"duplicate key {key!r} (first written at line {first_seen[key].line + 1})",
                _mark(key_node),
                "keep one of the two; YAML would silently drop the first",
            )
        first_seen[key] = doc.keys[(*path, key)] = key_node.start_mark
        stack.append((value_node, (*path, key), depth + 1))


def _syntax_hint(text: str, where: Mark) -> str:
    lines = text.splitlines()
    line = lines[where.line - 1] if 0 < where.line <= len(lines) else ""
    if "\t" in line[: len(line) - len(line.lstrip())]:
        return "this line is indented with a tab; YAML indentation must use spaces"
    return "check the indentation and quoting on this line and the one before"


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector.

    Loading and checking a large file creates hundreds of thousands of
    long-lived objects and no cycles worth collecting; the collector's repeated
    full passes over them would triple the time taken.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_text(text: str, path: Path) -> Document:
    """Parse YAML text into a Document; raises LoadError with a position."""
    _refuse_deep_nesting(text)
    loader = yaml.CSafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise LoadError("the file is empty", hint="start from the template in the README")
        doc = Document(data=None, path=path)
        _index(doc, root)
        doc.data = _construct(loader, root)
        return doc
    except yaml.reader.ReaderError as exc:
        where = _position(text, exc.position)
        raise LoadError(
            f"the character U+{_code(exc.character):04X} is not allowed in YAML",
            where,
            "remove it; control characters and NUL bytes have no place in the file",
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(text, exc) from None
    except yaml.YAMLError as exc:
        raise LoadError(f"YAML error: {exc}") from None
    finally:
        loader.dispose()


def _code(character: int | str) -> int:
    return character if isinstance(character, int) else ord(character)


def _position(text: str, offset: int) -> Mark:
    before = text[:offset]
    return Mark(before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)


def _syntax_error(text: str, exc: yaml.MarkedYAMLError) -> LoadError:
    mark = exc.problem_mark or exc.context_mark
    where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    context = exc.context_mark
    if exc.context and context and exc.problem_mark and context.line != exc.problem_mark.line:
        # e.g. an unclosed quote: the fault is where the scalar started, not where YAML gave up
        problem += f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
    return LoadError(f"YAML syntax error: {problem}", where, _syntax_hint(text, where))


_TAG_WORDS = {"timestamp": "a real date", "int": "an integer", "float": "a number",
              "bool": "true or false", "binary": "base64 data"}  # fmt: skip


def _construct(loader: yaml.CSafeLoader, root: yaml.Node) -> object:
    """Build Python data; a scalar that its tag cannot represent becomes a located error."""
    try:
        return loader.construct_document(root)
    except Exception:  # any constructor failure is located below
        node = _unconstructible_scalar(root)
        if node is None:
            raise LoadError("a value cannot be read") from None
        kind = node.tag.rsplit(":", 1)[-1]
        raise LoadError(
            f"{_short(node.value)} cannot be read as {_TAG_WORDS.get(kind, kind)}",
            _mark(node),
            "quote it to keep it as text, or correct it",
        ) from None


def _unconstructible_scalar(root: yaml.Node) -> yaml.ScalarNode | None:
    probe = yaml.SafeLoader("")
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode) and not node.tag.endswith(":str"):
            try:
                probe.construct_object(node, deep=True)
            except Exception:  # which error the constructor raised does not matter
                return node
        stack.extend(_children(node))
    return None


def _bracket_depth(text: str) -> int:
    """Deepest nesting of flow brackets, counting those inside quotes too (an upper bound)."""
    depth = deepest = 0
    for char in re.sub(r"[^\[\]{}]+", "", text):
        depth = depth + 1 if char in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def _refuse_deep_nesting(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH before composing.

    PyYAML's C composer recurses once per level and overflows the C stack (a
    segfault, not an exception) at some tens of thousands of levels. Such
    depth needs many brackets or a very long line, so the exact check, a walk
    over libyaml's (iterative) event stream, only runs when one of those is there.
    """
    if _bracket_depth(text) <= MAX_DEPTH and max(map(len, text.splitlines() or [""])) <= (
        MAX_SCALAR_CHARS
    ):
        return
    parser = yaml.CSafeLoader(text)
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise LoadError(
                        f"nesting deeper than {MAX_DEPTH} levels",
                        Mark(event.start_mark.line + 1, event.start_mark.column + 1),
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # composing reports the syntax error with its position
    finally:
        parser.dispose()
