"""The conference page's forms as the conferences API's request bodies, and its problems beside
the fields (pure)."""

from __future__ import annotations

from portal.domain import forms

FIELDS = ["lernen-vor-ort", "uebergang-schule-beruf", "sprache"]


def test_an_answer_by_phone_is_sent_as_the_api_value() -> None:
    assert forms.response_body({"response": "tentative", "csrf": "x"}) == {"response": "tentative"}
    assert not forms.response_problems({"response": "declined"})
    assert forms.response_problems({"response": "maybe"}).general
    assert forms.response_problems({}).general == [
        "Bitte Zusage, Absage oder Unter Vorbehalt wählen."
    ]


def test_a_reschedule_joins_the_day_and_the_times_in_local_time() -> None:
    form = {
        "day": "2027-03-10",
        "start": "14:00",
        "end": " 17:30 ",
        "venue.name": "Rathaus, Ratssaal",
        "venue.address": "Willy-Brandt-Platz 2, 44787 Bochum",
        "online_url": "",
        "version": "4",
    }
    assert forms.reschedule_body(form) == {
        "starts_at": "2027-03-10T14:00",
        "ends_at": "2027-03-10T17:30",
        "venue": {"name": "Rathaus, Ratssaal", "address": "Willy-Brandt-Platz 2, 44787 Bochum"},
    }
    assert not forms.reschedule_problems(form)


def test_a_reschedule_without_a_place_keeps_the_one_there_is() -> None:
    body = forms.reschedule_body({"day": "2027-03-10", "start": "09:00", "end": "12:00"})
    assert body == {"starts_at": "2027-03-10T09:00", "ends_at": "2027-03-10T12:00"}
    online = forms.reschedule_body(
        {"day": "2027-03-10", "start": "09:00", "end": "12:00", "online_url": "https://m.de/r"}
    )
    assert online["online_url"] == "https://m.de/r"


def test_a_reschedule_is_checked_before_the_confirmation() -> None:
    assert set(forms.reschedule_problems({}).fields) == {"day", "start", "end"}
    late = forms.reschedule_problems({"day": "2027-03-10", "start": "15:00", "end": "14:00"})
    assert late.fields == {"end": "Das Ende muss nach dem Beginn liegen."}
    odd = forms.reschedule_problems({"day": "10.03.2027", "start": "2 Uhr", "end": "14:00"})
    assert set(odd.fields) == {"day", "start"}
    half = forms.reschedule_problems(
        {"day": "2027-03-10", "start": "09:00", "end": "12:00", "venue.name": "Aula"}
    )
    assert set(half.fields) == {"venue.address"}


def test_a_cancellation_needs_its_reason_in_paragraphs() -> None:
    assert forms.cancel_body({"reason": "  Zu wenige Zusagen.\r\nNeuer Termin folgt. "}) == {
        "reason": "Zu wenige Zusagen.\nNeuer Termin folgt."
    }
    assert forms.cancel_body({"reason": "  "}) == {}
    assert "reason" in forms.cancel_problems({"reason": " "}).fields
    assert not forms.cancel_problems({"reason": "Krankheit"})


def test_the_results_leave_out_fields_without_a_recommendation() -> None:
    form = {
        "summary": "Gute Beteiligung.\r\n\r\nDrei Arbeitsgruppen.",
        "recommendation.lernen-vor-ort": "Mehr Lernorte öffnen.",
        "recommendation.uebergang-schule-beruf": "   ",
        "recommendation.sprache": "Sprachförderung bündeln.",
        "recommendation.unknown": "not an adopted field",
    }
    assert forms.conclude_body(form, FIELDS) == {
        "summary": "Gute Beteiligung.\n\nDrei Arbeitsgruppen.",
        "recommendations": [
            {"field_of_action_id": "lernen-vor-ort", "text": "Mehr Lernorte öffnen."},
            {"field_of_action_id": "sprache", "text": "Sprachförderung bündeln."},
        ],
    }
    assert not forms.conclude_problems(form, FIELDS)


def test_the_results_need_a_summary_and_one_recommendation() -> None:
    empty = forms.conclude_problems({"recommendation.sprache": " "}, FIELDS)
    assert set(empty.fields) == {"summary"}
    assert empty.general == ["Bitte mindestens eine Empfehlung zu einem Handlungsfeld eintragen."]
    none_adopted = forms.conclude_problems({"summary": "x"}, [])
    assert none_adopted.general
    assert "beschlossenes Handlungsfeld" in none_adopted.general[0]


def test_a_recommendations_problem_lands_beside_its_text() -> None:
    body = {
        "errors": [
            {
                "field": "recommendations.1.field_of_action_id",
                "reason": "'sprache' is no adopted field of action of this network",
            },
            {"field": "summary", "reason": "String should have at most 20000 characters"},
        ]
    }
    known = {"summary", *(forms.RECOMMENDATION + f for f in FIELDS)}
    problems = forms.conference_problems(422, body, known, ["lernen-vor-ort", "sprache"])
    assert problems.fields == {
        "recommendation.sprache": "Dieses Handlungsfeld ist nicht (mehr) beschlossen.",
        "summary": "Die Angabe ist zu lang.",
    }


def test_reschedule_problems_name_the_form_fields() -> None:
    body = {"errors": [{"field": "starts_at", "reason": "lies in the past; a conference is ..."}]}
    problems = forms.conference_problems(422, body, forms.RESCHEDULE_FIELDS)
    assert problems.fields == {"start": "Der neue Termin liegt in der Vergangenheit."}


def test_a_version_conflict_asks_to_reload_and_a_refusal_says_why() -> None:
    conflict = {
        "type": "urn:rbn-arnsberg:problem:version-conflict",
        "detail": "The conference changed since you read it; read it again and retry.",
    }
    assert "inzwischen geändert" in forms.conference_problems(409, conflict, set()).general[0]
    started = {
        "type": "urn:rbn-arnsberg:problem:already-started",
        "detail": "The conference has started.",
    }
    assert forms.conference_problems(409, started, set()).general == [
        "Die Konferenz hat schon begonnen; das lässt sich jetzt nicht mehr ändern."
    ]
    early = {
        "type": "urn:rbn-arnsberg:problem:not-ended",
        "detail": "Results can be recorded only after the conference has ended (2027-03-10).",
    }
    assert "erst nach dem Ende" in forms.conference_problems(409, early, set()).general[0]
