"""Property: whatever text a person (or a script) sends, the API either refuses it with a field
error and stores nothing, or stores it clean: one line where one line is meant, NFC, trimmed,
addresses in their canonical form.

The registry runs in-process against the real FerretDB and Kafka; its events are read back from
Kafka to show that nothing refused was published.
"""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rbn_shared.addresses import AddressRefused, canonical_address
from tests.registry.integration.conftest import RegistryUnderTest, auth
from tests.registry.integration.conftest import registry as registry  # the seeded app
from tests.support.events import events_with_correlation
from tests.support.schema_strategies import HOSTILE_TEXT, _address

pytestmark = [pytest.mark.integration]

EXAMPLES = 60
ONE_LINE_FIELDS = ("name", "organisation", "function")


def _clean_line(value: str) -> bool:
    return (
        value == unicodedata.normalize("NFC", value)
        and value == value.strip()
        and not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value)
    )


people = st.fixed_dictionaries(
    {"name": HOSTILE_TEXT, "email": st.one_of(_address(), HOSTILE_TEXT)},
    optional={"organisation": HOSTILE_TEXT, "function": HOSTILE_TEXT},
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(person=people)
async def test_a_member_with_any_text_is_refused_by_field_or_stored_clean(
    registry: RegistryUnderTest, person: dict[str, Any]
) -> None:
    correlation = f"property-{uuid.uuid4()}"
    response = await registry.http.post(
        "/networks/hagen/committee/members",
        headers={**auth("hagen-token"), "X-Correlation-ID": correlation},
        json={
            "person": person,
            "side": "municipality",
            "role": "member",
            "term_start": "2027-01-01",
        },
    )
    if response.status_code == 201:
        stored = response.json()["person"]
        for field in ONE_LINE_FIELDS:
            if field in person:
                assert _clean_line(stored[field]), (field, stored[field])
        assert stored["email"] == canonical_address(person["email"])
        [event] = await events_with_correlation(
            registry.bootstrap, registry.topic, correlation, expected=1
        )
        assert event["payload"]["person"] == {k: stored.get(k) for k in event["payload"]["person"]}
        # Remove it again, so a later example may use the same address.
        member = response.json()
        removed = await registry.http.post(
            f"/networks/hagen/committee/members/{member['id']}/removal",
            headers={**auth("hagen-token"), "If-Match": '"1"'},
            json={"removed_on": "2027-01-02", "reason": "Test"},
        )
        assert removed.status_code == 200, removed.text
        return
    assert response.status_code in (409, 422), response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    if response.status_code == 422:
        named = {e["field"] for e in problem["errors"]}
        assert named, problem
        assert named <= {f"person.{f}" for f in (*ONE_LINE_FIELDS, "email")}, problem
        assert all(e["reason"] for e in problem["errors"])
    else:  # 409: the address is in the committee already
        try:
            canonical_address(person["email"])
        except AddressRefused:
            pytest.fail(f"a refused address must be a 422, not {problem}")
    # Nothing refused was published.
    published = await events_with_correlation(
        registry.bootstrap, registry.topic, correlation, expected=1, timeout=0.5
    )
    assert published == []
