"""What the service consumes and what it does with each event: the reaction table.

One row per payload class, its reactions in the order they run:

- the recipients projection (`projection.<event>`, one small function per registry event that
  says who is where), first, so that the mails of the same event see it;
- `note`: what the district report will mention (domain.report's event types);
- `mails`: the rules table's mails for the event (domain.rules), rendered and stored as pending;
- `resend_welcome`: a failed committee welcome, again, for a corrected address;
- `record_response`: an answer, kept for the education office's daily overview
  (service_layer.digests);
- `erase`: a person erased (Art. 17): every copy anonymised, unsent mail cancelled
  (service_layer.erasure); `erase_again`: after an event about a person erased after it
  occurred (read late), the copies it brought back are erased again.

The consumers' event types and topics are derived from the tables (`runtime.react`); the shared
consumer ignores every other event.
"""

from __future__ import annotations

from notifications.service_layer.digests import ResponseDigests
from notifications.service_layer.erasure import Erasures
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
    PersonErased,
)
from rbn_shared.reactions import Reactions


def reactions(
    notifier: Notifier, digests: ResponseDigests, erasures: Erasures
) -> dict[str, Reactions]:
    """The reaction tables by consumer name (`notifications.<name>`): registry and conferences."""
    projection = notifier.projection
    record_response = digests.record_response
    note, mails = notifier.note_development, notifier.send_mails
    resend_welcome = notifier.resend_unsent_welcome
    erase, erase_again = erasures.person_erased, erasures.erase_again
    # fmt: off
    registry = Reactions({
        NetworkRegistered:           [projection.network_registered],
        NetworkUpdated:              [projection.network_updated],
        CommitteeMemberAdded:        [projection.committee_member_added, note, erase_again,
                                      mails],
        CommitteeMemberUpdated:      [projection.committee_member_updated, note, erase_again,
                                      resend_welcome],
        CommitteeMemberRemoved:      [projection.committee_member_removed, note, erase_again,
                                      mails],
        OfficeStaffAssigned:         [projection.office_staff_assigned, erase_again, mails],
        OfficeStaffRemoved:          [projection.office_staff_removed, erase_again],
        FieldOfActionAdopted:        [note, mails],
        FieldOfActionClosed:         [note],
        DistrictCoordinationChanged: [projection.district_coordination_changed],
        DistrictBulletinPublished:   [mails],
        PersonErased:                [erase],
    })
    conferences = Reactions({
        ConferenceScheduled:   [note, mails],
        ConferenceRescheduled: [mails],
        ConferenceUpdated:     [mails],
        ConferenceCancelled:   [note, mails],
        ParticipantInvited:    [mails],
        ParticipantWithdrawn:  [mails],
        ParticipantResponded:  [record_response, erase_again, mails],
        ConferenceReminderDue: [mails],
        ConferenceConcluded:   [note, mails],
    })
    # fmt: on
    return {"registry": registry, "conferences": conferences}
