"""A bounded reader for the block-YAML subset model metadata uses (MLmodel, conda.yaml,
python_env.yaml, model-card front matter): mappings, sequences (indentless too), plain,
quoted and block scalars, one-line or multi-line flow collections, comments.

Anchors, aliases, tags and complex keys are refused. Plain scalars resolve as PyYAML's
safe loader does (YAML 1.1: yes/no are booleans), except timestamps, which stay strings.
"""

from __future__ import annotations

import re
from typing import Any

# PyYAML's implicit resolvers (yaml/resolver.py), so values read the same as safe_load.
_NULL = re.compile(r"~|null|Null|NULL|")
_BOOL_TRUE = re.compile(r"yes|Yes|YES|true|True|TRUE|on|On|ON")
_BOOL_FALSE = re.compile(r"no|No|NO|false|False|FALSE|off|Off|OFF")
_INT = re.compile(
    r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"
)
_FLOAT = re.compile(
    r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
# YAML's white space is space and tab only (not NBSP or other Unicode spaces).
_WS = " \t"


class YamlError(ValueError):
    """The text is not in the supported subset, or exceeds a bound."""


def loads(text: str, max_depth: int = 64, max_nodes: int = 100_000) -> Any:
    """Parse one YAML document (the first, if there are several)."""
    return _Parser(text, max_depth, max_nodes).document()


def resolve(plain: str) -> Any:
    """A plain scalar's value: None, bool, int, float or the string itself."""
    if _NULL.fullmatch(plain):
        return None
    if _BOOL_TRUE.fullmatch(plain):
        return True
    if _BOOL_FALSE.fullmatch(plain):
        return False
    if _INT.fullmatch(plain):
        return _to_int(plain)
    if _FLOAT.fullmatch(plain):
        return _to_float(plain)
    return plain


def _sexagesimal(sign: int, text: str, convert: Any) -> Any:
    value: Any = 0
    base = 1
    for part in reversed(text.split(":")):
        value += convert(part) * base
        base *= 60
    return sign * value


def _to_int(text: str) -> int:
    text = text.replace("_", "")
    sign = -1 if text[0] == "-" else 1
    if text[0] in "+-":
        text = text[1:]
    if text == "0":
        return 0
    if text.startswith("0b"):
        return sign * int(text[2:], 2)
    if text.startswith("0x"):
        return sign * int(text[2:], 16)
    if text[0] == "0":
        return sign * int(text, 8)
    if ":" in text:
        return int(_sexagesimal(sign, text, int))
    return sign * int(text)


def _to_float(text: str) -> float:
    text = text.replace("_", "").lower()
    sign = -1.0 if text[0] == "-" else 1.0
    if text[0] in "+-":
        text = text[1:]
    if text == ".inf":
        return sign * float("inf")
    if text == ".nan":
        return float("nan")
    if ":" in text:
        return float(_sexagesimal(int(sign), text, float))
    return sign * float(text)


def _indent_of(raw: str) -> int:
    return len(raw) - len(raw.lstrip(" "))


def _is_dash(content: str) -> bool:
    return content == "-" or content.startswith(("- ", "-\t"))


def _strip_comment(text: str) -> str:
    """Plain text up to a comment (a '#' at the start or after whitespace)."""
    for index, char in enumerate(text):
        if char == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip(_WS)
    return text.rstrip(_WS)


def _find_quote_end(text: str, start: int) -> int:
    """Index of the quote closing the scalar opened at text[start], or -1."""
    quote = text[start]
    index = start + 1
    while index < len(text):
        char = text[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            if quote == "'" and text[index + 1 : index + 2] == "'":
                index += 2
                continue
            return index
        index += 1
    return -1


def _fold_quoted(inner: str, double: bool) -> str:
    """Apply quoted-scalar line folding and (for double quotes) escapes."""
    out: list[str] = []
    index = 0
    length = len(inner)
    while index < length:
        char = inner[index]
        if double and char == "\\":
            index += 1
            if index >= length:
                raise YamlError("dangling escape in a double-quoted scalar")
            code = inner[index]
            if code == "\n":
                # An escaped line break joins the lines without a space.
                index += 1
                while index < length and inner[index] in " \t":
                    index += 1
                continue
            if code in _HEX_ESCAPES:
                width = _HEX_ESCAPES[code]
                digits = inner[index + 1 : index + 1 + width]
                if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise YamlError(f"bad \\{code} escape")
                out.append(chr(int(digits, 16)) if int(digits, 16) <= 0x10FFFF else "\ufffd")
                index += 1 + width
                continue
            if code not in _ESCAPES:
                raise YamlError(f"unknown escape \\{code}")
            out.append(_ESCAPES[code])
            index += 1
            continue
        if not double and char == "'" and inner[index + 1 : index + 2] == "'":
            out.append("'")
            index += 2
            continue
        if char in _LINE_BREAKS:
            # Trailing blanks before a break are not content; leading ones after it neither.
            while out and out[-1] in (" ", "\t") and not _escaped_tail(inner, index):
                out.pop()
            first = _break_as_read(char)
            index += 1
            breaks: list[str] = []
            while index < length and inner[index] in _BLANKS_AND_BREAKS:
                if inner[index] in _LINE_BREAKS:
                    breaks.append(_break_as_read(inner[index]))
                index += 1
            # A line or paragraph separator survives folding; a plain break folds to a space
            # unless more breaks follow (as PyYAML reads it).
            if first != "\n":
                out.append(first)
            elif not breaks:
                out.append(" ")
            out.extend(breaks)
            continue
        out.append(char)
        index += 1
    return "".join(out)


# Line breaks inside a quoted scalar (lines are already split on "\n"; NEL, LS and PS
# are breaks in YAML 1.1 too).
_LINE_BREAKS = "\n\x85\u2028\u2029"
_BLANKS_AND_BREAKS = " \t" + _LINE_BREAKS


def _break_as_read(char: str) -> str:
    """LS and PS are kept as they are; a newline or NEL reads as a newline."""
    return char if char in "\u2028\u2029" else "\n"


def _escaped_tail(inner: str, index: int) -> bool:
    """True when the blank right before inner[index] came from an escape ('\\ ' or '\\t')."""
    return index >= 2 and inner[index - 2] == "\\" and inner[index - 1] in " \t"


class _Parser:
    def __init__(self, text: str, max_depth: int, max_nodes: int) -> None:
        if "\t" in text and any(line.startswith("\t") for line in text.splitlines()):
            raise YamlError("tabs are not allowed for indentation")
        self.lines = [line.rstrip("\r") for line in text.split("\n")]
        self.indents = [_indent_of(line) for line in self.lines]
        self.i = 0
        self.max_depth = max_depth
        self.nodes_left = max_nodes

    # line helpers
    def content(self, index: int) -> str:
        return self.lines[index][self.indents[index] :]

    def at_end(self) -> bool:
        return self.i >= len(self.lines) or self.lines[self.i].rstrip(_WS) in ("---", "...")

    def skip_blank(self) -> None:
        while self.i < len(self.lines):
            text = self.content(self.i).strip(_WS)
            if text and not text.startswith("#"):
                return
            self.i += 1

    def spend(self, depth: int) -> None:
        self.nodes_left -= 1
        if self.nodes_left < 0:
            raise YamlError("too many YAML nodes")
        if depth > self.max_depth:
            raise YamlError("YAML nests too deeply")

    def error(self, message: str) -> YamlError:
        return YamlError(f"line {self.i + 1}: {message}")

    # documents and nodes
    def document(self) -> Any:
        self.skip_blank()
        while self.i < len(self.lines) and self.content(self.i).startswith("%"):
            self.i += 1
            self.skip_blank()
        if self.i < len(self.lines) and self.lines[self.i].rstrip(_WS) == "---":
            self.i += 1
        value = self.node(0, 0)
        self.skip_blank()
        if not self.at_end():
            raise self.error("unexpected content")
        return value

    def node(self, min_indent: int, depth: int) -> Any:
        self.spend(depth)
        self.skip_blank()
        if self.at_end() or self.indents[self.i] < min_indent:
            return None
        indent, content = self.indents[self.i], self.content(self.i)
        if _is_dash(content):
            return self.sequence(indent, depth)
        if self.key_split(content) is not None:
            return self.mapping(indent, depth)
        self.i += 1
        return self.inline_value(content, min_indent - 1, depth)

    def sequence(self, indent: int, depth: int) -> list[Any]:
        items: list[Any] = []
        while True:
            self.skip_blank()
            if self.at_end() or self.indents[self.i] != indent or not _is_dash(self.content(self.i)):
                return items
            rest = self.content(self.i)[1:]
            stripped = rest.lstrip(" \t")
            if not stripped or stripped.startswith("#"):
                self.i += 1
                items.append(self.node(indent + 1, depth + 1))
                continue
            # Read the item as if the dash were a space: "- a: 1" opens a mapping there.
            self.indents[self.i] = indent + 1 + len(rest) - len(stripped)
            self.lines[self.i] = " " * self.indents[self.i] + stripped
            items.append(self.node(indent + 1, depth + 1))

    def mapping(self, indent: int, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        while True:
            self.skip_blank()
            if self.at_end() or self.indents[self.i] != indent:
                return result
            content = self.content(self.i)
            if _is_dash(content):
                return result
            split = self.key_split(content)
            if split is None:
                raise self.error("expected 'key: value'")
            key, rest = split
            self.i += 1
            self.spend(depth + 1)
            result[key] = self.value_after_key(rest, indent, depth + 1)

    def value_after_key(self, rest: str, indent: int, depth: int) -> Any:
        if rest and not rest.startswith("#"):
            return self.inline_value(rest, indent, depth)
        self.skip_blank()
        if self.at_end():
            return None
        if self.indents[self.i] > indent:
            return self.node(indent + 1, depth)
        if self.indents[self.i] == indent and _is_dash(self.content(self.i)):
            return self.sequence(indent, depth)
        return None

    def key_split(self, content: str) -> tuple[Any, str] | None:
        """(key, text after the colon) when `content` is a 'key: value' line."""
        if content[:1] in ("'", '"'):
            end = _find_quote_end(content, 0)
            if end < 0:
                return None
            after = content[end + 1 :].lstrip(" ")
            if not (after == ":" or after.startswith((": ", ":\t"))):
                return None
            key = _fold_quoted(content[1:end], content[0] == '"')
            return key, after[1:].strip(" \t")
        if not content or content[0] in "[{&*!|>%@`#":
            return None
        if content[0] == "?" and content[1:2] in ("", " ", "\t"):
            return None  # a complex key
        for index, char in enumerate(content):
            if char == "#" and index and content[index - 1] in " \t":
                return None
            if char == ":" and (index + 1 == len(content) or content[index + 1] in " \t"):
                key = content[:index].rstrip(_WS)
                return resolve(key), content[index + 1 :].strip(" \t")
        return None

    # scalars
    def inline_value(self, text: str, parent: int, depth: int) -> Any:
        """A value starting with `text` on the line just consumed; may continue below."""
        first = text[0]
        if first in "&*!":
            raise self.error("anchors, aliases and tags are not supported")
        if first in "|>":
            return self.block_scalar(text, parent)
        if first in "'\"":
            value, rest = self.quoted(text)
            if rest and not rest.startswith("#"):
                raise self.error("unexpected text after a quoted scalar")
            return value
        if first in "[{":
            return self.flow(text, depth)
        return self.plain(text, parent)

    def quoted(self, text: str) -> tuple[str, str]:
        """A quoted scalar, joining following lines until the closing quote.

        Each line is scanned once (a quote cannot be escaped across a line break), so a
        long unterminated scalar costs linear time.
        """
        pieces = [text]
        if _find_quote_end(text, 0) < 0:
            while True:
                if self.i >= len(self.lines):
                    raise self.error("unterminated quoted scalar")
                line = self.lines[self.i]
                self.i += 1
                pieces.append(line)
                if _find_quote_end(text[0] + line, 0) >= 0:
                    break
        joined = "\n".join(pieces)
        end = _find_quote_end(joined, 0)
        return _fold_quoted(joined[1:end], text[0] == '"'), joined[end + 1 :].strip(_WS)

    def plain(self, text: str, parent: int) -> Any:
        parts = [_strip_comment(text)]
        if text != parts[0] and "#" in text[len(parts[0]) :]:
            return resolve(parts[0])  # a comment ends the scalar
        pending_breaks = 0
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            stripped = raw.strip(_WS)
            if not stripped:
                pending_breaks += 1
                self.i += 1
                continue
            if self.indents[self.i] <= parent or stripped.startswith("#") or raw.rstrip(_WS) in ("---", "..."):
                break
            line = _strip_comment(stripped)
            if line == stripped and (": " in stripped or stripped.endswith(":")):
                raise self.error("a mapping key cannot continue a plain scalar")
            parts.append("\n" * pending_breaks if pending_breaks else " ")
            parts.append(line)
            pending_breaks = 0
            self.i += 1
            if line != stripped:
                break
        if pending_breaks:
            # Blank lines after the scalar belong to the next node; give them back.
            self.i -= pending_breaks
        return resolve("".join(parts))

    def block_scalar(self, header: str, parent: int) -> str:
        indicator = _strip_comment(header)
        match = re.fullmatch(r"([|>])([1-9]?)([+-]?)|([|>])([+-])([1-9])", indicator)
        if not match:
            raise self.error(f"bad block scalar header {indicator!r}")
        style = match.group(1) or match.group(4)
        explicit = match.group(2) or match.group(6)
        chomp = match.group(3) or match.group(5) or ""
        base = max(parent, 0)
        lines: list[str] = []
        content_indent = base + int(explicit) if explicit else -1
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            if raw.strip(_WS):
                indent = self.indents[self.i]
                if content_indent < 0:
                    if indent <= parent:
                        break
                    content_indent = indent
                if indent < content_indent:
                    break
                lines.append(raw[content_indent:])
            else:
                lines.append("")
            self.i += 1
        trailing = 0
        while lines and lines[-1] == "":
            lines.pop()
            trailing += 1
        body = "\n".join(lines) if style == "|" else _fold_block(lines)
        if not lines:
            return "\n" * trailing if chomp == "+" else ""
        if chomp == "-":
            return body
        if chomp == "+":
            return body + "\n" * (trailing + 1)
        return body + "\n"

    def flow(self, text: str, depth: int) -> Any:
        """A flow collection: lines are gathered until its brackets balance, then parsed once."""
        scan = _FlowExtent()
        pieces = [scan.feed(text)]
        while not scan.closed:
            if self.i >= len(self.lines):
                raise self.error("unterminated flow collection")
            pieces.append(scan.feed(self.lines[self.i].strip(_WS)))
            self.i += 1
        joined = " ".join(pieces)
        parser = _Flow(joined, self.max_depth - depth)
        try:
            value = parser.parse()
        except _Incomplete:
            raise self.error("unterminated flow collection") from None
        if joined[parser.pos :].strip(_WS):
            raise self.error("unexpected text after a flow collection")
        return value


class _FlowExtent:
    """Tracks brackets and quotes line by line to find where a flow collection ends."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote = ""
        self.closed = False

    def feed(self, line: str) -> str:
        """Account for one line; returns it without its comment."""
        index = 0
        while index < len(line):
            char = line[index]
            if self.quote == '"':
                if char == "\\":
                    index += 1
                elif char == '"':
                    self.quote = ""
            elif self.quote == "'":
                if char == "'" and line[index + 1 : index + 2] == "'":
                    index += 1
                elif char == "'":
                    self.quote = ""
            elif char == "#" and (index == 0 or line[index - 1] in _WS):
                return line[:index]
            elif self.closed:
                pass
            elif char in "[{":
                self.depth += 1
            elif char in "]}":
                self.depth -= 1
                self.closed = self.depth <= 0
            elif char in "'\"":
                self.quote = char
            index += 1
        return line


def _fold_block(lines: list[str]) -> str:
    """Folded (>) block scalar: a break between two plain lines becomes a space, each blank
    line a newline; breaks around more-indented lines are kept."""
    out: list[str] = []
    previous = ""
    empties = 0
    for line in lines:
        if not line:
            empties += 1
            continue
        kind = "indented" if line[0] in " \t" else "plain"
        if not previous:
            out.append("\n" * empties)
        elif previous == kind == "plain":
            out.append("\n" * empties if empties else " ")
        else:
            out.append("\n" * (empties + 1))
        out.append(line)
        previous, empties = kind, 0
    return "".join(out)


class _Incomplete(Exception):
    """The flow collection continues on the next line."""


class _Flow:
    """Recursive descent over one flow collection: [a, b], {k: v}, nested, quoted items."""

    def __init__(self, text: str, depth_left: int) -> None:
        self.text = text
        self.pos = 0
        self.depth_left = depth_left

    def parse(self) -> Any:
        return self.value(0)

    def peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1
        if self.pos >= len(self.text):
            raise _Incomplete
        return self.text[self.pos]

    def value(self, depth: int) -> Any:
        if depth > self.depth_left:
            raise YamlError("flow collection nests too deeply")
        char = self.peek()
        if char == "[":
            return self.sequence(depth)
        if char == "{":
            return self.mapping(depth)
        if char in "'\"":
            end = _find_quote_end(self.text, self.pos)
            if end < 0:
                raise _Incomplete
            value = _fold_quoted(self.text[self.pos + 1 : end], char == '"')
            self.pos = end + 1
            return value
        if char in "&*!":
            raise YamlError("anchors, aliases and tags are not supported")
        start = self.pos
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in ",]}" or (c == ":" and self.text[self.pos + 1 : self.pos + 2] in (" ", ",", "]", "}", "")):
                break
            if c == "#" and self.text[self.pos - 1] in " \t":
                raise _Incomplete
            self.pos += 1
        return resolve(self.text[start : self.pos].strip(_WS))

    def sequence(self, depth: int) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        while True:
            if self.peek() == "]":
                self.pos += 1
                return items
            item = self.value(depth + 1)
            if self.peek() == ":":
                if isinstance(item, (list, dict)):
                    raise YamlError("collections as mapping keys are not supported")
                self.pos += 1
                item = {item: self.value(depth + 1)}
            items.append(item)
            char = self.peek()
            if char == ",":
                self.pos += 1
            elif char != "]":
                raise YamlError(f"expected ',' or ']' in a flow sequence, found {char!r}")

    def mapping(self, depth: int) -> dict[Any, Any]:
        self.pos += 1
        result: dict[Any, Any] = {}
        while True:
            if self.peek() == "}":
                self.pos += 1
                return result
            key = self.value(depth + 1)
            if isinstance(key, (list, dict)):
                raise YamlError("collections as mapping keys are not supported")
            value = None
            if self.peek() == ":":
                self.pos += 1
                value = self.value(depth + 1)
            result[key] = value
            char = self.peek()
            if char == ",":
                self.pos += 1
            elif char != "}":
                raise YamlError(f"expected ',' or '}}' in a flow mapping, found {char!r}")
