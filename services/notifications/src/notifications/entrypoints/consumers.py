"""What the service consumes and what it does with each event: the reaction table.

One row per payload class, its reactions in the order they run:

- the recipients projection (`projection.<event>`, one small function per registry event that
  says who is where), first, so that the mails of the same event see it;
- `note`: what the district report will mention (domain.report's event types);
- `mails`: the rules table's mails for the event (domain.rules), rendered and stored as pending;
- `resend_welcome`: a failed committee welcome, again, for a corrected address;
- `record_response`: an answer, kept for the education office's daily overview
  (service_layer.digests).

The consumers' event types and topics are derived from the tables (`runtime.react`); the shared
consumer ignores every other event.
"""

from __future__ import annotations

from notifications.service_layer.digests import ResponseDigests
from notifications.service_layer.notifier import Notifier
from rbn_shared.events.conferences import (
    ConferenceCancelled,
    ConferenceConcluded,
    ConferenceReminderDue,
    ConferenceRescheduled,
    ConferenceScheduled,
    ConferenceUpdated,
    ParticipantInvited,
    ParticipantResponded,
    ParticipantWithdrawn,
)
from rbn_shared.events.registry import (
    CommitteeMemberAdded,
    CommitteeMemberRemoved,
    CommitteeMemberUpdated,
    DistrictBulletinPublished,
    DistrictCoordinationChanged,
    FieldOfActionAdopted,
    FieldOfActionClosed,
    NetworkRegistered,
    NetworkUpdated,
    OfficeStaffAssigned,
    OfficeStaffRemoved,
)
from rbn_shared.reactions import Reactions


def reactions(notifier: Notifier, digests: ResponseDigests) -> dict[str, Reactions]:
    """The reaction tables by consumer name (`notifications.<name>`): registry and conferences."""
    projection = notifier.projection
    record_response = digests.record_response
    note, mails = notifier.note_development, notifier.send_mails
    resend_welcome = notifier.resend_unsent_welcome
    # fmt: off
    registry = Reactions({
        NetworkRegistered:           [projection.network_registered],
        NetworkUpdated:              [projection.network_updated],
        CommitteeMemberAdded:        [projection.committee_member_added, note, mails],
        CommitteeMemberUpdated:      [projection.committee_member_updated, note, resend_welcome],
        CommitteeMemberRemoved:      [projection.committee_member_removed, note, mails],
        OfficeStaffAssigned:         [projection.office_staff_assigned, mails],
        OfficeStaffRemoved:          [projection.office_staff_removed],
        FieldOfActionAdopted:        [note, mails],
        FieldOfActionClosed:         [note],
        DistrictCoordinationChanged: [projection.district_coordination_changed],
        DistrictBulletinPublished:   [mails],
    })
    conferences = Reactions({
        ConferenceScheduled:   [note, mails],
        ConferenceRescheduled: [mails],
        ConferenceUpdated:     [mails],
        ConferenceCancelled:   [note, mails],
        ParticipantInvited:    [mails],
        ParticipantWithdrawn:  [mails],
        ParticipantResponded:  [record_response, mails],
        ConferenceReminderDue: [mails],
        ConferenceConcluded:   [note, mails],
    })
    # fmt: on
    return {"registry": registry, "conferences": conferences}
