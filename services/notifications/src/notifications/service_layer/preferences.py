"""Changing what a recipient receives: through the API, or through a signed unsubscribe link."""

from __future__ import annotations

from collections.abc import Mapping

from notifications.adapters.repositories import PreferencesRepository
from notifications.domain.preferences import Preferences, Topic
from rbn_shared.changes import Clock


async def change_preferences(
    repository: PreferencesRepository,
    email: str,
    wanted: Mapping[Topic, bool],
    clock: Clock,
) -> Preferences:
    async with repository.store.locked(email.lower()):
        current, version = await repository.get(email)
        changed = current
        for topic, on in wanted.items():
            changed = changed.switched(topic, wanted=on)
        if changed != current or version is None:
            await repository.save(changed, version, clock())
        return changed
