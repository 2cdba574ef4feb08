"""The data subjects' rights here, for the district coordination: what this service holds about
an address (Art. 15 DSGVO) and the audit of exports and erasures, through the routes every
service answers alike (rbn_shared.privacy_api). Erasure itself arrives as the registry's
`person-erased` (entrypoints/consumers.py).
"""

from __future__ import annotations

from fastapi import Request

from conferences.service_layer.privacy import PrivacyService
from rbn_shared.privacy_api import subject_rights_router


async def get_privacy(request: Request) -> PrivacyService:
    privacy: PrivacyService = request.app.state.privacy
    return privacy


router = subject_rights_router("conferences", get_privacy)
