"""The education office's and the fields of action's forms: bodies for the registry, the checks
the portal makes itself, and the registry's refusals said in German beside the fields."""

from __future__ import annotations

import pytest

from portal.domain import forms, german
from portal.domain.forms import FIELD_FIELDS, STAFF_FIELDS, STAFF_REMOVAL_FIELDS

TEACHER = {
    "csrf": "x",
    "person.name": " Anna Berg ",
    "person.email": "anna.berg@schule.example",
    "person.function": "",
    "person.organisation": "",
    "employer": "state",
    "released_from_school": "Gesamtschule Mitte",
    "hours_share": "50 %",
    "start_date": "2027-08-01",
    "end_date": "",
}


def test_a_teacher_is_sent_with_the_share_as_a_fraction_and_no_empty_fields() -> None:
    assert forms.staff_body(TEACHER) == {
        "person": {"name": "Anna Berg", "email": "anna.berg@schule.example"},
        "employer": "state",
        "released_from_school": "Gesamtschule Mitte",
        "hours_share": 0.5,
        "start_date": "2027-08-01",
    }
    assert not forms.staff_problems(TEACHER)


@pytest.mark.parametrize(
    ("text", "share"), [("50", 0.5), ("33,5", 0.335), ("100 %", 1.0), ("", None), ("viel", None)]
)
def test_a_share_is_read_in_percent(text: str, share: float | None) -> None:
    assert forms.percent(text) == share


def test_an_unreadable_share_is_sent_as_is_never() -> None:
    body = forms.staff_body({**TEACHER, "hours_share": "halbe"})
    assert "hours_share" not in body
    problems = forms.staff_problems({**TEACHER, "hours_share": "halbe"})
    assert problems.fields == {"hours_share": "Bitte den Anteil in Prozent angeben, z. B. 50."}


def test_a_teacher_needs_a_school_and_a_share() -> None:
    form = {**TEACHER, "released_from_school": " ", "hours_share": ""}
    assert set(forms.staff_problems(form).fields) == {"released_from_school", "hours_share"}


@pytest.mark.parametrize("text", ["0", "150"])
def test_a_share_lies_above_0_and_up_to_100_percent(text: str) -> None:
    assert "hours_share" in forms.staff_problems({**TEACHER, "hours_share": text}).fields


def test_municipal_staff_are_released_from_no_school() -> None:
    form = {**TEACHER, "employer": "municipality"}
    assert forms.staff_problems(form).fields == {
        "released_from_school": "Nur bei abgeordneten Lehrkräften des Landes angeben.",
        "hours_share": "Nur bei abgeordneten Lehrkräften des Landes angeben.",
    }
    plain = {**form, "released_from_school": "", "hours_share": ""}
    assert not forms.staff_problems(plain)
    assert forms.staff_body(plain)["employer"] == "municipality"


def test_a_removal_and_the_field_dates() -> None:
    assert forms.staff_removal_body({"end_date": "2027-07-31", "reason": " Rückkehr "}) == {
        "end_date": "2027-07-31",
        "reason": "Rückkehr",
    }
    assert forms.staff_removal_body({"end_date": "", "reason": ""}) == {}
    assert forms.adoption_body({"adopted_on": "2027-03-10", "csrf": "x"}) == {
        "adopted_on": "2027-03-10"
    }
    assert forms.closure_body({"closed_on": ""}) == {}


def test_a_field_keeps_its_paragraphs_with_plain_line_breaks() -> None:
    body = forms.field_body(
        {
            "title": " Übergang Schule – Beruf ",
            "starting_situation": "  Erster Absatz.\r\n\r\nZweiter Absatz.\r\n",
            "development_needs": "",
        }
    )
    assert body == {
        "title": "Übergang Schule – Beruf",
        "starting_situation": "Erster Absatz.\n\nZweiter Absatz.",
    }


def _problem(status: int, *errors: tuple[str, str], detail: str = "") -> dict[str, object]:
    return {
        "status": status,
        "detail": detail,
        "errors": [{"field": f, "reason": r} for f, r in errors],
    }


def test_the_registrys_rules_are_said_in_german_beside_their_field() -> None:
    body = _problem(
        409,
        ("person.email", "anna@x.example already works in the education office of Bochum"),
        detail="anna@x.example already works in the education office of Bochum",
    )
    problems = forms.registry_problems(409, body, STAFF_FIELDS)
    assert problems.fields == {"person.email": "Diese Person arbeitet schon im Bildungsbüro mit."}
    assert problems.general == []


def test_pydantics_reasons_go_beside_the_fields_too() -> None:
    body = _problem(
        422,
        ("start_date", "Field required"),
        ("hours_share", "Input should be less than or equal to 1"),
    )
    problems = forms.registry_problems(422, body, STAFF_FIELDS)
    assert problems.fields == {
        "start_date": "Bitte ausfüllen.",
        "hours_share": "Die Zahl ist zu groß.",
    }


def test_a_field_the_form_does_not_have_goes_to_the_top_in_german() -> None:
    body = _problem(
        422, ("released_from_school", "only the Land's staff are released from a school")
    )
    problems = forms.registry_problems(422, body, STAFF_REMOVAL_FIELDS)
    assert problems.fields == {}
    assert problems.general == ["Nur bei abgeordneten Lehrkräften des Landes angeben."]


def test_a_title_in_use_and_a_closing_before_the_adoption() -> None:
    title = _problem(409, ("title", "Bochum already has an open field of action 'Sprache'"))
    assert forms.registry_problems(409, title, FIELD_FIELDS).fields == {
        "title": "Ein offenes Handlungsfeld mit diesem Titel gibt es schon."
    }
    closing = _problem(422, ("closed_on", "the closing must not lie before 2027-03-10"))
    assert forms.registry_problems(422, closing, {"closed_on"}).fields == {
        "closed_on": "Der Abschluss kann nicht vor dem Beschluss liegen."
    }


def test_an_outdated_version_asks_to_reload() -> None:
    problems = forms.registry_problems(409, {"status": 409, "detail": "version"}, {"adopted_on"})
    assert problems.fields == {}
    assert "Seite neu" in problems.general[0]


@pytest.mark.parametrize(
    ("share", "text"),
    [(0.5, "50 % (halbe Stelle)"), (1.0, "100 % (volle Stelle)"), (0.335, "33,5 %"), (None, "")],
)
def test_a_share_as_staff_read_it(share: float | None, text: str) -> None:
    assert german.share(share) == text


def test_the_labels() -> None:
    assert german.EMPLOYER["state"].startswith("Land NRW")
    assert german.FIELD_STATUS["adopted"] == "beschlossen"


def test_an_empty_form_is_not_confirmed_but_marked() -> None:
    problems = forms.staff_problems({"csrf": "x"})
    assert problems.fields == {
        "person.name": "Bitte ausfüllen.",
        "person.email": "Bitte ausfüllen.",
        "employer": "Bitte ausfüllen.",
        "start_date": "Bitte ausfüllen.",
    }
