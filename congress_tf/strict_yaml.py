"""Reading env.yaml strictly: its bytes as text, then one YAML document as plain data.

What a file typed in a hurry, saved by a Windows editor or pasted from a wiki can hold, and what
becomes of it here:

- text: UTF-8 (a byte-order mark is dropped), as Terraform wants its .tfvars; anything else
  (UTF-16 as Notepad's "Unicode" saves it, Latin-1, cp1252) is refused, saying which it looks like.
- a key given twice is refused (YAML would silently keep the last one);
- aliases (`*name`) and merge keys (`<<`) are refused: nothing is ever expanded, so a small file
  cannot turn into a huge value (an "alias bomb");
- nesting deeper than MAX_DEPTH is refused before Python's recursion limit is reached;
- several documents (`---`) in one file are refused;
- YAML 1.1 readings a human does not expect (`010` as the octal 8, `1:30` as 90, `yes`/`on`/`no`
  as booleans, `2024-01-01` as a date) become `Ambiguous` values: the schema refuses them with a
  hint to quote them or to write a plain number.  Plain decimals, `true`/`false` and `null` are
  read as usual.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 256 * 1024  # a real env.yaml is a few KiB
MAX_DEPTH = 10  # env.yaml nests three levels deep

_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_PLAIN_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")


class YamlProblem(Exception):
    """The file is not usable as env.yaml text or YAML; the message says where and why."""


@dataclass(frozen=True)
class Ambiguous:
    """A scalar that YAML 1.1 reads differently from what it looks like (`010` -> 8, `on` -> True)."""
    text: str
    reading: str  # e.g. "the octal number 8"

    def __str__(self) -> str:
        return self.text


def read_text(path: Path) -> str:
    """The file's text; OSError when it cannot be read, YamlProblem when it is not UTF-8 text."""
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise YamlProblem(f"is {len(data) // 1024} KiB; an env.yaml holds at most {MAX_BYTES // 1024} KiB")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise YamlProblem("is saved as UTF-16 (Windows editors call it \"Unicode\"); env.yaml must be UTF-8: "
                          "save it again choosing UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        line = data[:offset].count(b"\n") + 1
        raise YamlProblem(f"is not UTF-8 text: byte 0x{data[offset]:02x} at line {line} (saved as Latin-1 or "
                          "Windows-1252?); save the file as UTF-8") from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise YamlProblem(f"holds NUL bytes (line {line}): UTF-16 without a byte-order mark? save the file as UTF-8")
    return text


def load(text: str) -> Any:
    """The one document of `text` as plain data (dicts, lists, str, int, float, bool, None, Ambiguous)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        if exc.problem and "another document" in exc.problem:
            raise YamlProblem(f"holds more than one YAML document (another one starts at line "
                              f"{exc.problem_mark.line + 1}): an env.yaml is one document; remove the extra "
                              "'---' and what follows, or split the file") from None
        raise
    finally:
        loader.dispose()


def _line(node_or_event: Any) -> int:
    return node_or_event.start_mark.line + 1


def _key_reading(node: yaml.Node, key: Any) -> str:
    if not isinstance(node, yaml.ScalarNode):
        return f"a {'list' if isinstance(node, yaml.SequenceNode) else 'mapping'} is used as a key"
    reading = key.reading if isinstance(key, Ambiguous) else \
        {bool: "a boolean", int: "a number", float: "a number"}.get(type(key), "null" if key is None else "a date")
    return f"key {node.value[:40]!r} is not text (YAML reads it as {reading})"


class _Loader(yaml.SafeLoader):
    """SafeLoader minus the surprises listed in the module docstring."""

    _depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise YamlProblem(f"line {_line(self.peek_event())}: YAML aliases (*name) are not allowed in env.yaml; "
                              "write the value out")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlProblem(f"line {_line(self.peek_event())}: nested more than {MAX_DEPTH} levels deep; "
                                  "env.yaml nests three levels at most")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem(f"line {_line(key_node)}: merge keys (<<) are not allowed in env.yaml; "
                                      "write the keys out")
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    raise YamlProblem(f"line {_line(key_node)}: {_key_reading(key_node, key)}; every env.yaml key "
                                      "is a name such as image: quote it or fix the indentation")
                if key in seen:
                    raise YamlProblem(f"line {_line(key_node)}: key {str(key)[:60]!r} is given twice (first at line "
                                      f"{seen[key]}); YAML would silently keep only the last one: keep one")
                seen[key] = _line(key_node)
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node):
        value = super().construct_yaml_int(node)
        if _DECIMAL.fullmatch(node.value):
            return value
        return Ambiguous(node.value, f"the number {value}")

    def construct_yaml_float(self, node):
        value = super().construct_yaml_float(node)
        if _PLAIN_FLOAT.fullmatch(node.value):
            return value
        return Ambiguous(node.value, f"the number {value:g}")

    def construct_yaml_bool(self, node):
        value = super().construct_yaml_bool(node)
        if node.value.lower() in ("true", "false"):
            return value
        return Ambiguous(node.value, f"the boolean {str(value).lower()}")

    def construct_yaml_timestamp(self, node):
        return Ambiguous(node.value, "a date")


for _tag, _method in (("int", _Loader.construct_yaml_int), ("float", _Loader.construct_yaml_float),
                      ("bool", _Loader.construct_yaml_bool), ("timestamp", _Loader.construct_yaml_timestamp)):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _method)
