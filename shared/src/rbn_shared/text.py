"""Clean text at every edge: the field types the services' APIs accept.

- `Line`: one line (names, titles, venues, functions): NFC, trimmed, no control characters, no
  line or paragraph separators.
- `Reason`, `LongText`: text that may keep its line breaks (reasons, agendas, summaries): NFC,
  line breaks as "\\n", trimmed, tabs allowed, no other control characters.
- `Slug` and `Key`: identifiers, matched exactly: never trimmed, so "dortmund " is no id.

A value that breaks a rule is refused with a field error naming the reason; nothing is silently
changed except normalisation (NFC, trimming, line endings) that a person would never notice.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

# Control characters (C0, C1, DEL) and the Unicode line and paragraph separators: none of them
# belongs in a name, and any of them could start a new line in a mail header or a CSV row.
_SEPARATORS = ("Zl", "Zp")


def _forbidden_in_line(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", *_SEPARATORS)


def _forbidden_in_paragraphs(char: str) -> bool:
    return char not in "\n\t" and _forbidden_in_line(char)


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}{' ' + name if name else ''}"


def clean_line(value: str) -> str:
    """One line of text, normalised; ValueError naming the first forbidden character."""
    text = unicodedata.normalize("NFC", value).strip()
    for char in text:
        if _forbidden_in_line(char):
            raise ValueError(
                f"must be one line without control characters (found {_describe(char)})"
            )
    return text


def clean_paragraphs(value: str) -> str:
    """Text that may span lines, normalised; ValueError naming the first forbidden character."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n").strip()
    for char in text:
        if _forbidden_in_paragraphs(char):
            raise ValueError(f"must not contain control characters (found {_describe(char)})")
    return text


def _text_only(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


def _not_empty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


# The sizes the APIs use (counted as sent, before trimming).
Line = Annotated[  # names, titles, venues, functions, phone numbers
    str,
    Field(max_length=200),
    BeforeValidator(_text_only),
    AfterValidator(clean_line),
    AfterValidator(_not_empty),
]
Reason = Annotated[  # why something was ended or cancelled
    str,
    Field(max_length=2_000),
    BeforeValidator(_text_only),
    AfterValidator(clean_paragraphs),
    AfterValidator(_not_empty),
]
LongText = Annotated[  # agendas, starting situations, summaries, bulletins
    str,
    Field(max_length=20_000),
    BeforeValidator(_text_only),
    AfterValidator(clean_paragraphs),
    AfterValidator(_not_empty),
]

# Network ids and other names chosen by people: lower-case words joined by hyphens.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=60)]
# Ids the services made (mem-…, hf-…, inv-…, hex): letters, digits, '-', '_', '.', ':'.
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=100)]
