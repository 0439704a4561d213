"""Normalising error messages so that the same mistake made by different students clusters under one key.

``NameError: name 'x' is not defined`` and ``NameError: name 'total' is not defined`` are one mistake; so are
``IndexError: list index out of range`` at line 4 in two students' programs. The rules replace what varies from
program to program (quoted names, numbers, memory addresses, file paths) with placeholders and keep the words
that describe the mistake. They are deliberately few and ordered: addresses before numbers (``0x7f..`` would
otherwise become ``<n>x<n>``), quoted text before bare numbers (a quoted ``'3'`` is a value, not a count).

What is quoted but *is* the mistake stays: punctuation (``SyntaxError: expected ':'``, ``'(' was never closed``),
built-in type names (``unsupported operand type(s) for +: 'int' and 'str'`` is another mistake than ``'list' and
'int'``) and keywords (``'return' outside function``). Names the student chose become ``<name>``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable

MAX_MESSAGE = 200  # a normalised message longer than this is cut: keys must fit AnalyticsEvent.error_key (300)
MAX_TYPE = 80

KEPT_WORDS = frozenset(
    {
        *("int", "float", "complex", "str", "bytes", "bool", "list", "tuple", "dict", "set", "frozenset", "range"),
        *("NoneType", "function", "builtin_function_or_method", "method", "module", "type", "object"),
        *keyword.kwlist,
    }
)


def _quoted(match: re.Match[str]) -> str:
    """A quoted part stays when it is punctuation, a built-in type name or a keyword; otherwise ``<name>``."""
    inner = match.group(0)[1:-1]
    return match.group(0) if inner in KEPT_WORDS or not re.search(r"\w", inner) else "<name>"


_Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]
_RULES: tuple[_Rule, ...] = (
    (re.compile(r"0x[0-9a-fA-F]+"), "<addr>"),
    (re.compile(r"""(?:/[\w.\-]+)+\.py"""), "<path>"),
    # Python quotes names with single quotes, and with double quotes when the text itself holds a quote.
    (re.compile(r"'(?:[^'\\]|\\.)*'"), _quoted),
    (re.compile(r'"(?:[^"\\]|\\.)*"'), _quoted),
    (re.compile(r"(?<![\w<])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w>])"), "<n>"),
    (re.compile(r"\s+"), " "),
)

# Messages that name a *suggestion* ("Did you mean: 'print'?") would split one mistake by what Python guessed.
_SUGGESTION = re.compile(r"\.?\s*Did you mean[^?]*\?\s*$")


def normalise_message(message: str | None) -> str:
    """The message with variable parts replaced by ``<name>``, ``<n>``, ``<addr>`` and ``<path>``; "" for None."""
    if not message:
        return ""
    text = message.strip().splitlines()[0] if message.strip() else ""
    text = _SUGGESTION.sub("", text)
    for pattern, placeholder in _RULES:
        text = pattern.sub(placeholder, text)
    return text.strip()[:MAX_MESSAGE]


def error_key(error_type: str | None, message: str | None, line: int | None) -> str | None:
    """``Type: normalised message @ line`` (line omitted when unknown); None when there was no error."""
    if not error_type:
        return None
    kind = error_type.strip()[:MAX_TYPE]
    norm = normalise_message(message)
    key = f"{kind}: {norm}" if norm else kind
    return f"{key} @ {line}" if line is not None else key
