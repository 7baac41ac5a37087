"""A fast first reading of YAML with rapidyaml, exact wherever it answers.

rapidyaml (C++, the ``rapidyaml`` package, module ``ryml``) builds its tree of a file several
times faster than libyaml composes PyYAML's node graph, in a fraction of the memory, and it
keeps what PyYAML's YAML 1.1 rules need: each scalar's style (plain, quoted, block), its tag
and anchors. A plain scalar's type is resolved here by PyYAML's own implicit-resolver table
and built by PyYAML's own constructor, so ``0700`` is octal, ``33:39`` base 60, ``yes`` true
and ``2019-03-01`` a ``datetime.date``, as PyYAML reads them.

The fast path answers only what it can answer exactly. Anything else raises ``NotFast`` and
the caller reads the same text with PyYAML (``timeline.load``), which gives the exact value,
or the exact error with its line and column: a syntax error (rapidyaml's messages and
positions are not libyaml's), more than one document, a tag, an anchor or alias, a mapping
or list as a key, a duplicate or merge key, nesting deeper than ``MAX_DEPTH``, and every
value the project's loader refuses (hidden characters, oversized values, number forms nobody
means, dates and booleans their tag cannot represent). ``tests/test_fastload.py`` holds the
results to PyYAML's SafeLoader on the real file, generated files and every malformed input.

Example::

    try:
        data = fast_data(text)      # plain Python data, as the loader would build it
    except NotFast:
        data = load_text(text, path).data
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import ryml
import yaml

from .load import FORBIDDEN_CHARS, MAX_DEPTH, MAX_SCALAR_CHARS, PLAIN_FLOAT, PLAIN_INT

# rapidyaml's node type bits (ryml.NodeType): container kinds, and what marks a node as one
# the fast path leaves to PyYAML (tags, anchors, references, a missing key or value).
_MAP, _SEQ = ryml.MAP, ryml.SEQ
_DOCUMENTS = ryml.DOC | (ryml.STREAM & ~ryml.SEQ)  # a stream of documents, or an explicit one
_KEY_PLAIN, _VAL_PLAIN, _VAL_DQUO = ryml.KEY_PLAIN, ryml.VAL_PLAIN, ryml.VAL_DQUO
_KEY_DQUO, _VALNIL = ryml.KEY_DQUO, ryml.VALNIL
_REFUSED = (
    ryml.KEYTAG | ryml.VALTAG | ryml.KEYANCH | ryml.VALANCH | ryml.KEYREF | ryml.VALREF
) | ryml.KEYNIL
_NONE = ryml.NONE

_STR = "tag:yaml.org,2002:str"
_NUMBER_FORMS = {"tag:yaml.org,2002:int": PLAIN_INT, "tag:yaml.org,2002:float": PLAIN_FLOAT}
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class NotFast(Exception):
    """The fast path cannot answer this text exactly: read it with PyYAML."""


def fast_data(text: str) -> object:
    """The Python data PyYAML's safe loading (and the project's checks) give for ``text``.

    Raises NotFast where that is not certain; never a different value.
    """
    if FORBIDDEN_CHARS.search(text) or "\t" in text:
        # Raw hidden characters and tabs: PyYAML's reader and scanner say where (and rapidyaml
        # reads a tab in places libyaml refuses it).
        raise NotFast("a character the fast path leaves to PyYAML")
    try:
        with _quiet_stderr():
            tree = ryml.parse_in_arena(text.encode())
    except Exception:  # rapidyaml's parse errors: PyYAML gives the exact message and mark
        raise NotFast("a syntax error, or YAML rapidyaml does not read") from None
    return _Builder(tree).document()


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a moment.

    rapidyaml's C++ error handler prints each parse error to the process's standard error
    before raising; the error the user sees is PyYAML's, from the second reading, so that
    print is noise. The commands that load YAML are single-threaded.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _Builder:
    """Plain Python data from one rapidyaml tree, scalars resolved as PyYAML resolves them."""

    def __init__(self, tree: ryml.Tree):
        self.tree = tree
        # A plain scalar's value depends on its text alone; a file repeats short texts (keys,
        # roles, dates) many times, and every value built here is immutable.
        self.plain: dict[str, object] = {}

    def document(self) -> object:
        tree = self.tree
        root = tree.root_id()
        kind = tree.type(root)
        if kind & _DOCUMENTS or not kind & (_MAP | _SEQ):
            raise NotFast("a stream, a bare scalar or an empty file")
        return self.node(root, kind, 0)

    def node(self, node: int, kind: int, depth: int) -> object:
        if kind & _REFUSED:
            raise NotFast("a tag, an anchor or an alias")
        if kind & _MAP:
            return self.mapping(node, depth)
        if kind & _SEQ:
            return self.sequence(node, depth)
        if kind & _VALNIL:
            return None  # an empty value: PyYAML reads the empty plain scalar as null
        value = _text(self.tree.val(node))
        if kind & _VAL_PLAIN:
            return self.resolved(value)
        return self.quoted(value, kind & _VAL_DQUO)

    def mapping(self, node: int, depth: int) -> dict:
        if depth >= MAX_DEPTH:
            raise NotFast("nesting too deep")
        tree, out = self.tree, {}
        child = tree.first_child(node)
        while child != _NONE:
            kind = tree.type(child)
            if kind & _REFUSED:
                raise NotFast("a tag, an anchor or an alias")
            raw = tree.key(child)
            if raw is None:
                raise NotFast("a mapping or list as a key")
            raw = _text(raw)
            if raw == "<<":
                raise NotFast("a merge key")
            key = self.resolved(raw) if kind & _KEY_PLAIN else self.quoted(raw, kind & _KEY_DQUO)
            if not isinstance(key, str) or key in out:
                raise NotFast("a key that is not text, or a duplicate key")
            out[key] = self.node(child, kind, depth + 1)
            child = tree.next_sibling(child)
        return out

    def sequence(self, node: int, depth: int) -> list:
        if depth >= MAX_DEPTH:
            raise NotFast("nesting too deep")
        tree, out = self.tree, []
        child = tree.first_child(node)
        while child != _NONE:
            out.append(self.node(child, tree.type(child), depth + 1))
            child = tree.next_sibling(child)
        return out

    def quoted(self, value: str, double: int) -> str:
        if len(value) > MAX_SCALAR_CHARS or (double and FORBIDDEN_CHARS.search(value)):
            raise NotFast("a value the loader refuses")
        return value

    def resolved(self, value: str) -> object:
        """A plain scalar's value: PyYAML's implicit tag, PyYAML's constructor."""
        known = self.plain.get(value, self)
        if known is not self:
            return known
        if len(value) > MAX_SCALAR_CHARS:
            raise NotFast("a value the loader refuses")
        tag = next((t for t, p in _IMPLICIT.get(value[:1], ()) if p.match(value)), _STR)
        if tag in _NUMBER_FORMS and not _NUMBER_FORMS[tag].fullmatch(value):
            raise NotFast("a number form the loader refuses")
        try:
            # the tag's constructor itself: construct_object would remember every node
            built = _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))
        except Exception:  # an impossible date, say: the loader says where
            raise NotFast("a value its tag cannot represent") from None
        self.plain[value] = built
        return built


def _text(raw: memoryview) -> str:
    return bytes(raw).decode()
