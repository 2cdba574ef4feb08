"""A conference's invitees to take away: a CSV for German Excel and an A4 sign-in sheet
(Teilnehmerliste) as PDF. Pure functions, no I/O (apart from reading a font file, if there is one).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from portal.domain import german

GROUP = german.STAKEHOLDER_GROUP

CSV_HEADER = ("Name", "E-Mail", "Einrichtung", "Gruppe", "Antwort")

# Debian's fonts-dejavu-core; without it the PDF falls back to the core Helvetica (latin-1).
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def group_label(value: Any) -> str:
    """`school` → `Schule`; anything unknown as it is."""
    if value is None:
        return ""
    return GROUP.get(str(value), str(value))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _name_key(invitation: dict[str, Any]) -> tuple[str, str]:
    """Sorted as in a German phone book: Ä with A, case ignored."""
    name = _text(invitation.get("name"))
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    ).replace("ß", "ss")
    return plain.casefold(), name


def _sorted(invitations: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(invitations, key=_name_key)


def _invitations(conference: dict[str, Any]) -> list[dict[str, Any]]:
    return list(conference.get("invitations") or [])


def _cell(value: Any) -> str:
    """A CSV value Excel will not run as a formula."""
    text = _text(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_bytes(conference: dict[str, Any]) -> bytes:
    """The invitees as German Excel opens them: UTF-8 with BOM, `;`, CRLF, sorted by name."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_HEADER)
    for invitation in _sorted(_invitations(conference)):
        writer.writerow(
            [
                _cell(invitation.get("name")),
                _cell(invitation.get("email")),
                _cell(invitation.get("institution")),
                _cell(group_label(invitation.get("group"))),
                _cell(german.answer(invitation)),
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def attending(conference: dict[str, Any]) -> list[dict[str, Any]]:
    """Who signs in: accepted or tentative, not on the waiting list; sorted by name."""
    return _sorted(
        i
        for i in _invitations(conference)
        if i.get("response") in ("accepted", "tentative") and not i.get("waitlisted")
    )


# What the core Helvetica (latin-1) cannot show, as near as it gets.
_LATIN1 = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "„": '"',
        "“": '"',
        "”": '"',
        "‚": "'",
        "‘": "'",
        "’": "'",
        "…": "...",
        "€": "EUR",
        "\u00a0": " ",
        "\u202f": " ",
    }
)


class _Sheet(FPDF):
    def __init__(self, font_file: Path | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.unicode = font_file is not None
        if font_file is not None:
            bold = DEJAVU_BOLD if font_file == DEJAVU and DEJAVU_BOLD.exists() else font_file
            self.add_font("Sheet", "", str(font_file))
            self.add_font("Sheet", "B", str(bold))
            self.face = "Sheet"
        else:
            self.face = "Helvetica"
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages()

    def say(self, value: Any) -> str:
        text = _text(value)
        if self.unicode:
            return text
        text = text.translate(_LATIN1)
        return text.encode("latin-1", errors="replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(self.face, "", 8)
        self.cell(0, 5, f"Seite {self.page_no()} von {{nb}}", align="C")


def _default_font() -> Path | None:
    return DEJAVU if DEJAVU.exists() else None


def sign_in_sheet_pdf(conference: dict[str, Any], *, core_font: bool = False) -> bytes:
    """An A4 Teilnehmerliste to sign: title, date and venue at the top, then Name | Einrichtung
    | Unterschrift for everyone who accepted or is tentative; the header row repeats on each page.

    In DejaVu Sans if Debian's fonts-dejavu-core is installed, else (or with `core_font`) in the
    core Helvetica, whatever latin-1 cannot show replaced."""
    pdf = _Sheet(None if core_font else _default_font())
    title = _text(conference.get("title")) or "Konferenz"
    pdf.set_title(pdf.say(f"Teilnehmerliste – {title}"))
    pdf.set_lang("de")
    pdf.add_page()

    pdf.set_font(pdf.face, "B", 16)
    pdf.cell(0, 8, "Teilnehmerliste", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.face, "B", 12)
    pdf.multi_cell(0, 6, pdf.say(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.face, "", 10)
    lines = [conference.get("when")]
    venue = conference.get("venue")
    if isinstance(venue, dict):
        lines.append(", ".join(_text(venue.get(k)) for k in ("name", "address") if venue.get(k)))
    elif conference.get("online_url"):
        lines.append(f"Online: {conference['online_url']}")
    if conference.get("network_name"):
        lines.append(conference["network_name"])
    for line in lines:
        if line:
            pdf.multi_cell(0, 5, pdf.say(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    people = attending(conference)
    pdf.set_font(pdf.face, "", 10)
    with pdf.table(
        col_widths=(55, 55, 70),
        text_align="LEFT",
        line_height=5,
        min_row_height=12,  # room to sign
        padding=2,
        repeat_headings=1,
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
        first_row_as_headings=True,
    ) as table:
        table.row(("Name", "Einrichtung", "Unterschrift"))
        for person in people:
            row = table.row()
            row.cell(pdf.say(person.get("name")))
            row.cell(pdf.say(person.get("institution")))
            row.cell("")
    if not people:
        pdf.ln(3)
        pdf.cell(0, 5, "Noch keine Zusagen.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
