"""Reading a scenario file strictly: bounded before and while parsing, and without YAML 1.1's surprises.

``yaml.safe_load`` keeps the last of two equal keys silently, reads ``1:30`` as 90 (sexagesimal), ``017``
as 15 (octal), ``on``/``yes`` as booleans and ``2024-01-01`` as a date; it expands a 500-byte alias bomb
into gigabytes and recurses once per nesting level. Here the file is read only when it is a regular file,
at most ``MAX_FILE_BYTES``; the YAML events (libyaml's parser when present, which does not recurse) are
composed by PyYAML's composer with a depth limit, a budget of values that counts every alias expansion,
and a length limit per list; duplicate keys, merge keys, explicit tags and the YAML 1.1 implicit types
above are refused with their key path. What is accepted loads to exactly what ``yaml.safe_load`` gives,
so that a catalogue file's content hash does not change.
"""
from __future__ import annotations

import os
import re
import stat

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from harness.errors import ScenarioError
from harness.scenario.fields import shown

try:  # libyaml: fast, and its parser keeps a stack instead of recursing
    from yaml._yaml import CParser as _Parser

    _C_PARSER = True
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml.parser import Parser as _Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    _C_PARSER = False

MAX_FILE_BYTES = 1_000_000  # the largest catalogue file is a few kB
MAX_DEPTH = 16  # the schema needs 4 (inputs[i].spike_times[j]); Python recurses a few frames per level
MAX_VALUES = 200_000  # every scalar, list and mapping, each alias expansion counted again
MAX_LIST = 100_000  # entries of one list (spike_times, amplitude_times, ...)
MAX_NUMBER_CHARS = 100  # a plain number longer than this is no measurement (int() refuses 4,300 digits)

_INT, _FLOAT, _BOOL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"
_TIMESTAMP, _MERGE = "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:merge"
_OCTAL_HEX_BINARY = re.compile(r"^[-+]?(0[0-7_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+)$")


class _Refused(Exception):
    """A problem that stops reading at once (the file is too large, too deep or a bomb)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message


class _StrictLoader(Composer, SafeConstructor, Resolver, _Parser):
    """PyYAML's safe loader with a composer that knows the key path of every node it composes."""

    def __init__(self, text: str):
        if _C_PARSER:
            _Parser.__init__(self, text)
        else:  # pragma: no cover
            Reader.__init__(self, text)
            Scanner.__init__(self)
            _Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.labels: list[str] = []
        self.problems: list[tuple[str, str]] = []
        self.values = 0
        self.sizes: dict[int, int] = {}  # id(node) -> its expanded size, once composed

    def path(self) -> str:
        return "".join(self.labels).lstrip(".")

    def compose_node(self, parent, index):
        if parent is None and index is None:
            label = ""  # the document
        elif index is None:
            label = ".<key>"
        elif isinstance(index, int):
            label = f"[{index}]"
            if index >= MAX_LIST:
                raise _Refused(self.path(), f"a list of more than {MAX_LIST} entries; allowed: at most {MAX_LIST}")
        else:
            label = "." + (shown(index.value, 40, quote=False) if isinstance(index, ScalarNode) else "<key>")
        self.labels.append(label)
        try:
            if len(self.labels) > MAX_DEPTH:
                raise _Refused(self.path(), f"nested deeper than {MAX_DEPTH} levels; allowed: at most {MAX_DEPTH}")
            alias = self.check_event(AliasEvent)
            anchor = self.peek_event().anchor if alias else None
            before = self.values
            node = super().compose_node(parent, index)
            if alias:
                size = self.sizes.get(id(node))
                if size is None:
                    raise _Refused(self.path(), f"the alias *{shown(anchor, 40, quote=False)} refers to a node "
                                                f"that contains it; allowed: aliases of finished nodes")
                self.values += size
            else:
                self.values += 1
                self.sizes[id(node)] = self.values - before
                self._check_node(node)
            if self.values > MAX_VALUES:
                raise _Refused(self.path(), f"more than {MAX_VALUES} values (every alias expansion counted); "
                                            f"allowed: at most {MAX_VALUES}")
            return node
        finally:
            self.labels.pop()

    def compose_scalar_node(self, anchor):
        event = self.peek_event()
        if event.tag not in (None, "!"):
            self.problems.append((self.path(), f"the explicit tag {shown(event.tag, 40)} is not allowed; "
                                               f"allowed: plain values (numbers, names, lists, mappings)"))
        return super().compose_scalar_node(anchor)

    def _check_node(self, node) -> None:
        if isinstance(node, (SequenceNode, MappingNode)) and node.tag not in (
                "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"):
            self.problems.append((self.path(), f"the explicit tag {shown(node.tag, 40)} is not allowed; "
                                               f"allowed: plain lists and mappings"))
        if isinstance(node, MappingNode):
            seen = set()
            for key, _ in node.value:
                if not isinstance(key, ScalarNode):
                    continue  # the constructor refuses an unhashable key
                where = ".".join(p for p in (self.path(), shown(key.value, 40, quote=False)) if p)
                if key.tag == _MERGE:
                    self.problems.append((where, "a merge key (<<) is not allowed; allowed: the keys written out"))
                elif (key.tag, key.value) in seen:
                    self.problems.append((where, f"duplicate key {shown(key.value, 40)} (YAML would keep the "
                                                 f"last one silently); allowed: each key once per mapping"))
                seen.add((key.tag, key.value))
        elif isinstance(node, ScalarNode) and not node.style:  # plain (None, or libyaml's ""): type guessed by YAML 1.1
            problem = _yaml11_surprise(node.tag, node.value)
            if problem:
                self.problems.append((self.path(), problem))


def _yaml11_surprise(tag: str, text: str) -> str | None:
    """Why a plain scalar's YAML 1.1 type is not what its writer meant, or None."""
    quote = "write a plain decimal number, or quote the text if text is meant"
    if tag in (_INT, _FLOAT) and len(text) > MAX_NUMBER_CHARS:
        return f"a number of {len(text)} characters ({shown(text)}); allowed: at most {MAX_NUMBER_CHARS}"
    if tag in (_INT, _FLOAT) and ":" in text:
        return f"{shown(text)} is read by YAML 1.1 as a base-60 (sexagesimal) number; {quote}"
    if tag == _INT and _OCTAL_HEX_BINARY.match(text):
        return f"{shown(text)} is read by YAML 1.1 as an octal, hex or binary integer; {quote}"
    if tag == _BOOL and text.lower() not in ("true", "false"):
        return f"{shown(text)} is read by YAML 1.1 as the boolean {text.lower() in ('yes', 'on')}; {quote}"
    if tag == _TIMESTAMP:
        return f"{shown(text)} is read by YAML 1.1 as a date; {quote}"
    return None


def read_scenario_text(path) -> str:
    """The file's text: a regular file of at most MAX_FILE_BYTES, in UTF-8. Never blocks on a FIFO or device."""
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ScenarioError(name, [("", f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode)
                    else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                    else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
            raise ScenarioError(name, [("", f"cannot read the file: it is {kind}; allowed: a regular YAML file")])
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:  # st_size can lie (/proc): read at most the limit + 1 bytes
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ScenarioError(name, [("", f"cannot read the file: {exc.strerror or exc}")]) from None
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES:
        raise ScenarioError(name, [("", f"the file is larger than {MAX_FILE_BYTES} bytes; allowed: at most "
                                        f"{MAX_FILE_BYTES} bytes (a scenario is a few kB)")])
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:  # a binary file, or another encoding
        raise ScenarioError(name, [("", f"not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                                        f"{exc.start}); allowed: a YAML file in UTF-8")]) from None


def parse_yaml(text: str, name: str):
    """The document in ``text``, read strictly; ScenarioError (naming ``name`` and the key path) otherwise."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if loader.problems:
            raise ScenarioError(name, loader.problems)
        return None if node is None else loader.construct_document(node)
    except _Refused as exc:
        raise ScenarioError(name, [(exc.key, exc.message)]) from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(name, [("", f"malformed YAML{at}: {shown(reason, 200, quote=False)}")]) from None
    except (ValueError, OverflowError, RecursionError) as exc:  # a constructor's own limits, kept as a net
        raise ScenarioError(name, [("", f"cannot read the YAML: {shown(str(exc), 200, quote=False)}")]) from None
    finally:
        loader.dispose()


def load_yaml(path):
    """Read and parse one scenario file strictly (``read_scenario_text`` then ``parse_yaml``)."""
    return parse_yaml(read_scenario_text(path), str(path))
