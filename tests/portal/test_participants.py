"""The participant list downloads: the CSV for German Excel and the PDF sign-in sheet."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from fastapi.testclient import TestClient
from pypdf import PdfReader

from portal.adapters.apis import Answer
from portal.adapters.sign_in import SignedIn
from portal.domain import participants
from portal.entrypoints import export_pages
from portal.entrypoints.export_pages import filename
from portal.entrypoints.web import Portal, call_of
from rbn_shared.auth import Principal


def invitation(name: str, response: str = "accepted", **extra: Any) -> dict[str, Any]:
    return {
        "invitation_id": f"inv-{abs(hash(name))}",
        "name": name,
        "email": f"{name.split()[0].lower()}@schule.de",
        "institution": "Gesamtschule Arnsberg",
        "group": "school",
        "response": response,
        "waitlisted": False,
        "waitlist_position": None,
        "undeliverable": False,
        **extra,
    }


def conference(*invitations: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "Bildungskonferenz Übergang Schule–Beruf",
        "when": "Mittwoch, 10. März 2027, 14:00–17:00 Uhr",
        "network_name": "RBN Hochsauerlandkreis",
        "venue": {"name": "Kreishaus Meschede", "address": "Steinstraße 27, 59872 Meschede"},
        "invitations": list(invitations),
    }


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


# ------------------------------------------------------------------------------------------ CSV


def test_csv_is_for_german_excel() -> None:
    data = participants.csv_bytes(conference(invitation("Jürgen Köhler")))
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8")
    assert text.startswith("Name;E-Mail;Einrichtung;Gruppe;Antwort\r\n")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert rows(data)[1] == [
        "Jürgen Köhler",
        "jürgen@schule.de",
        "Gesamtschule Arnsberg",
        "Schule",
        "zugesagt",
    ]


def test_csv_rows_are_sorted_by_name_with_german_answers() -> None:
    data = participants.csv_bytes(
        conference(
            invitation("Zoe Zander", "declined"),
            invitation("Änne Abel", "tentative", group="youth_welfare"),
            invitation("Bernd Berg", "pending", waitlisted=True, waitlist_position=2),
            invitation("Carla Conrad", "pending", group="unknown_group"),
        )
    )
    body = rows(data)[1:]
    assert [r[0] for r in body] == ["Änne Abel", "Bernd Berg", "Carla Conrad", "Zoe Zander"]
    assert [r[4] for r in body] == ["unter Vorbehalt", "Warteliste (Platz 2)", "offen", "abgesagt"]
    assert [r[3] for r in body][:3] == ["Jugendhilfe", "Schule", "unknown_group"]


def test_csv_escapes_formulas() -> None:
    data = participants.csv_bytes(
        conference(
            invitation('=HYPERLINK("https://evil.example","Klick")'),
            invitation("Anna Arndt", institution="+49 2931 0", group="-1"),
            invitation("Bea Busch", institution="@SUM(A1)"),
        )
    )
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "\n=HYPERLINK" not in text
    assert ';"=HYPERLINK' not in text
    by_name = {r[0]: r for r in rows(data)[1:]}
    assert by_name['\'=HYPERLINK("https://evil.example","Klick")']
    assert by_name["Anna Arndt"][2:4] == ["'+49 2931 0", "'-1"]
    assert by_name["Bea Busch"][2] == "'@SUM(A1)"


def test_csv_quotes_a_value_with_a_semicolon() -> None:
    data = participants.csv_bytes(
        conference(invitation("Dora Dahl", institution="Schule A; Schule B"))
    )
    assert b';"Schule A; Schule B";' in data
    assert rows(data)[1][2] == "Schule A; Schule B"


def test_csv_without_invitations_is_the_header() -> None:
    empty = conference()
    empty["invitations"] = None
    assert (
        participants.csv_bytes(empty) == "\ufeffName;E-Mail;Einrichtung;Gruppe;Antwort\r\n".encode()
    )


def test_group_labels() -> None:
    assert participants.group_label("steering_committee") == "Lenkungskreis"
    assert participants.group_label("education_office") == "Bildungsbüro"
    assert participants.group_label("school_board") == "Schulträger"
    assert participants.group_label("something_new") == "something_new"
    assert participants.group_label(None) == ""


# ------------------------------------------------------------------------------------------ PDF


@pytest.mark.parametrize("core_font", [False, True], ids=["dejavu-if-installed", "helvetica"])
def test_sign_in_sheet(core_font: bool) -> None:
    data = participants.sign_in_sheet_pdf(
        conference(
            invitation("Jürgen Köhler"),
            invitation("Grete Weiß", "tentative", institution="Bildungsbüro Olpe"),
            invitation("Detlef Declined", "declined"),
            invitation("Walter Warteliste", "accepted", waitlisted=True, waitlist_position=1),
            invitation("Otto Offen", "pending"),
        ),
        core_font=core_font,
    )
    assert data.startswith(b"%PDF-")
    pages, text = pdf_text(data)
    assert pages == 1
    assert "Teilnehmerliste" in text
    assert "Bildungskonferenz Übergang Schule" in text
    assert "10. März 2027" in text
    assert "Kreishaus Meschede" in text
    assert "Jürgen Köhler" in text
    assert "Grete Weiß" in text
    assert "Bildungsbüro Olpe" in text
    assert "Unterschrift" in text
    assert "Detlef Declined" not in text
    assert "Walter Warteliste" not in text
    assert "Otto Offen" not in text
    assert "Seite 1 von 1" in text


def test_sign_in_sheet_is_a4() -> None:
    page = PdfReader(io.BytesIO(participants.sign_in_sheet_pdf(conference()))).pages[0]
    assert round(float(page.mediabox.width)) == 595
    assert round(float(page.mediabox.height)) == 842


def test_sixty_participants_need_more_pages_with_the_header_on_each() -> None:
    people = [invitation(f"Teilnehmerin Nummer {n:02d}") for n in range(60)]
    data = participants.sign_in_sheet_pdf(conference(*people))
    pages, text = pdf_text(data)
    assert pages > 1
    assert "Seite 1 von" in text
    assert f"Seite {pages} von {pages}" in text
    reader = PdfReader(io.BytesIO(data))
    for page in reader.pages:
        assert "Unterschrift" in page.extract_text()
    assert all(f"Teilnehmerin Nummer {n:02d}" in text for n in range(60))


def test_sign_in_sheet_without_participants() -> None:
    _, text = pdf_text(participants.sign_in_sheet_pdf(conference(invitation("X Y", "declined"))))
    assert "Unterschrift" in text
    assert "Noch keine Zusagen." in text


def test_download_filename_is_safe_ascii() -> None:
    assert filename("c-0123abc", "csv") == "teilnehmerliste-c-0123abc.csv"
    assert filename('../"evil"\r\nX: ä', "pdf") == "teilnehmerliste-evil-X.pdf"
    assert filename("ÄÖÜ", "pdf") == "teilnehmerliste.pdf"


# ------------------------------------------------------------------------------------ the pages


class FakeCall:
    """What a page's Call does, with the conferences API's answer given."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.asked: list[str] = []
        self.person = SignedIn(
            session_id="s",
            name="Erika Musterfrau",
            principal=Principal.parse("district"),
            access_token="t",
            access_expires_at=0.0,
            refresh_token=None,
            id_token=None,
            ends_at=0.0,
        )

    async def conferences(self, path: str, **params: Any) -> Answer:
        self.asked.append(path)
        return self.answer


def client(answer: Answer) -> tuple[TestClient, FakeCall]:
    app = FastAPI()
    templates = Jinja2Templates(directory=Path(export_pages.__file__).parent / "templates")
    app.state.portal = Portal(apis=None, sign_in=None, templates=templates)  # type: ignore[arg-type]
    app.include_router(export_pages.router)
    fake = FakeCall(answer)
    app.dependency_overrides[call_of] = lambda: fake
    return TestClient(app), fake


def test_csv_download() -> None:
    body = conference(invitation("Jürgen Köhler"))
    http, fake = client(Answer(200, body, '"3"'))
    response = http.get("/konferenzen/c-42/teilnehmerliste.csv")
    assert response.status_code == 200
    assert fake.asked == ["/conferences/c-42"]
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="teilnehmerliste-c-42.csv"'
    )
    assert response.content == participants.csv_bytes(body)


def test_pdf_download() -> None:
    http, _ = client(Answer(200, conference(invitation("Jürgen Köhler")), None))
    response = http.get("/konferenzen/c-42/teilnehmerliste.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        'attachment; filename="teilnehmerliste-c-42.pdf"'
    )
    assert "Jürgen Köhler" in pdf_text(response.content)[1]


@pytest.mark.parametrize("extension", ["csv", "pdf"])
def test_no_people_for_this_person_is_refused(extension: str) -> None:
    hidden = conference()
    hidden["invitations"] = None
    http, _ = client(Answer(200, hidden, None))
    response = http.get(f"/konferenzen/c-42/teilnehmerliste.{extension}")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "nicht berechtigt" in response.text
    assert "content-disposition" not in response.headers


def test_unknown_conference_is_refused() -> None:
    http, _ = client(Answer(404, {"detail": "not found"}, None))
    response = http.get("/konferenzen/nope/teilnehmerliste.csv")
    assert response.status_code == 404
    assert "content-disposition" not in response.headers
