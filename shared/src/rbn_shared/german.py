"""The event contract's values in German, as staff and recipients read them: the tables both
the mails (notifications) and the pages (portal) show, said once."""

from __future__ import annotations

ROLE = {"chair": "Vorsitz", "deputy": "stellvertretender Vorsitz", "member": "Mitglied"}
SIDE = {"state": "Land NRW", "municipality": "Kommune"}
SUPERVISION = {"upper": "Obere Schulaufsicht", "lower": "Untere Schulaufsicht"}
CONFERENCE_KIND = {"plenary": "Vollversammlung", "partial": "Teilversammlung"}
