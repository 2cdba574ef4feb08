"""The conference aggregate: one Regionale Bildungskonferenz with its invitations and reminders.

Pure: no database, no HTTP, no Kafka. Each change returns the event payloads it causes; the
service layer stores state and events in one write. Times are aware datetimes in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from conferences.domain.errors import InvalidInput, NotFound, Refused
from conferences.domain.local_time import to_berlin
from conferences.domain.privacy import anonymised, is_of
from conferences.domain.projection import NetworkView
from rbn_shared.addresses import address_key, same_address
from rbn_shared.events.base import EventPayload, NetworkRef, Person
from rbn_shared.events.conferences import (
    AgendaItem,
    ConferenceCancelled,
    ConferenceConcluded,
    ConferenceKind,
    ConferenceReminderDue,
    ConferenceRescheduled,
    ConferenceScheduled,
    ConferenceUpdated,
    Invitee,
    ParticipantInvited,
    ParticipantResponded,
    ParticipantWithdrawn,
    Recommendation,
    Response,
    ResponseCounts,
    StakeholderGroup,
    Venue,
    WithdrawalReason,
)
from rbn_shared.events.conferences import Conference as ConferenceFacts
from rbn_shared.events.conferences import ConferenceStatus as PublishedStatus
from rbn_shared.subjects import is_erased_address, mentions, subject_of


class ConferenceStatus(StrEnum):
    """Where a conference stands here: the contract's statuses (`rbn_shared.events`), and the
    draft before them, which no event ever carries (nobody outside knows of a draft)."""

    DRAFT = "draft"
    SCHEDULED = PublishedStatus.SCHEDULED.value
    CANCELLED = PublishedStatus.CANCELLED.value
    CONCLUDED = PublishedStatus.CONCLUDED.value


COMMITTEE_SOURCE = "committee:"
STAFF_SOURCE = "staff:"
EXTERNAL_SOURCE = "external"


@dataclass(frozen=True)
class DeliveryProblem:
    """The last mail to an invitation's address failed (as the notifications service reported)."""

    reason: str
    failed_at: datetime
    address: str  # the address it failed for


@dataclass
class Invitation:
    invitation_id: str
    source: str  # committee:<member id>, staff:<staff id> or external
    person: Person
    group: StakeholderGroup
    response: Response = Response.PENDING
    waitlisted: bool = False
    waitlist_seq: int | None = None  # order on the waiting list: lower is promoted first
    withdrawn: bool = False  # left the committee or the office before the conference
    responded_at: datetime | None = None
    delivery_problem: DeliveryProblem | None = None

    @property
    def has_seat(self) -> bool:
        return self.response == Response.ACCEPTED and not self.waitlisted and not self.withdrawn

    @property
    def undeliverable(self) -> bool:
        return self.delivery_problem is not None

    def readdress(self, person: Person) -> bool:
        """Take over the person's data; True if that moved the invitation to another address.
        A delivery problem belongs to the old address, so it goes with it."""
        moved = not same_address(self.person.email, person.email)
        self.person = person
        if moved:
            self.delivery_problem = None
        return moved

    @property
    def erased(self) -> bool:
        """Its person was erased: they are mailed nothing any more."""
        return is_erased_address(str(self.person.email))

    def erase(self, subject: str) -> Person | None:
        """Anonymise the invitation if it is the subject's; the person as it was, or None.
        Answer, waiting-list place and a delivery problem stay (the counts with them); the
        problem loses the address, and its reason if that quotes the person."""
        if not is_of(str(self.person.email), subject):
            return None
        before = self.person
        self.person = anonymised(subject)
        problem = self.delivery_problem
        if problem is not None:
            quoted = mentions(problem.reason, [before.name, str(before.email)])
            self.delivery_problem = DeliveryProblem(
                ERASED_REASON if quoted else problem.reason, problem.failed_at, self.person.email
            )
        return before

    def as_invitee(self) -> Invitee:
        """The invitation as its events name it: the fields the two share (the service layer
        adds the personal response link)."""
        return Invitee.model_validate(self, from_attributes=True)


ERASED_REASON = "(entfernt)"  # a delivery problem's reason that quoted an erased person


ReminderState = Literal["pending", "sent", "skipped"]  # skipped: it will not be sent


@dataclass
class Reminder:
    offset_seconds: int
    due_at: datetime
    state: ReminderState = "pending"
    sent_at: datetime | None = None


@dataclass(frozen=True)
class AgendaDraft:
    title: str
    description: str | None = None
    field_of_action_id: str | None = None


@dataclass(frozen=True)
class Delegate:
    """An external delegate: a school, school board, youth welfare office, company, ..."""

    name: str
    email: str
    institution: str | None
    group: StakeholderGroup

    def person(self) -> Person:
        return Person(name=self.name, email=self.email, organisation=self.institution)


@dataclass(frozen=True, kw_only=True)
class ConferenceDraft:
    """A conference as asked for, in the order the API and the aggregate name its parts."""

    title: str
    kind: ConferenceKind
    topic: str | None = None
    starts_at: datetime
    ends_at: datetime
    venue: Venue | None = None
    online_url: str | None = None
    agenda: tuple[AgendaDraft, ...] = ()
    capacity: int | None = None
    delegates: tuple[Delegate, ...] = ()

    def taken_as_asked(self) -> dict[str, Any]:
        """What the conference takes from the draft unchanged: all but the agenda (resolved
        against the network's fields of action) and the delegates (invited one by one)."""
        return {
            part.name: getattr(self, part.name)
            for part in fields(self)
            if part.name not in ("agenda", "delegates")
        }


@dataclass(frozen=True)
class RecommendationDraft:
    field_of_action_id: str
    text: str


@dataclass
class Conference:
    conference_id: str
    network: NetworkRef
    organizer: Person
    title: str
    kind: ConferenceKind
    topic: str | None
    starts_at: datetime
    ends_at: datetime
    venue: Venue | None
    online_url: str | None
    agenda: list[AgendaItem]
    capacity: int | None
    status: ConferenceStatus = ConferenceStatus.SCHEDULED
    sequence: int = 0
    time_sequence: int = 0  # the SEQUENCE its time last changed at (0: as first invited)
    invitations: list[Invitation] = field(default_factory=list)
    reminders: list[Reminder] = field(default_factory=list)
    next_invitation_no: int = 1
    next_waitlist_seq: int = 1
    cancel_reason: str | None = None
    summary: str | None = None
    recommendations: list[Recommendation] = field(default_factory=list)

    # ================================================================== lifecycle

    @classmethod
    def schedule(
        cls,
        conference_id: str,
        draft: ConferenceDraft,
        network: NetworkView,
        others: list[Conference],
        *,
        now: datetime,
        reminder_offsets: Sequence[int],
    ) -> tuple[Conference, list[EventPayload]]:
        """Plan a new conference and publish it at once; refuses bad input (422) before
        conflicts with state (409)."""
        conference, _ = cls.prepare(conference_id, draft, network, now=now)
        return conference, conference.publish(
            network, others, now=now, reminder_offsets=reminder_offsets
        )

    @classmethod
    def prepare(
        cls, conference_id: str, draft: ConferenceDraft, network: NetworkView, *, now: datetime
    ) -> tuple[Conference, list[EventPayload]]:
        """A new conference as a draft: checked like a scheduled one, but nobody is told, no
        reminder is planned, and it blocks no time (the overlap is checked when it is
        published). It has its invitations already, so that each can be previewed."""
        agenda = _check_draft(draft, network, now)
        _require_agreement(network)
        conference = cls(
            conference_id=conference_id,
            network=_network_ref(network),
            organizer=_organizer(network),
            agenda=agenda,
            status=ConferenceStatus.DRAFT,
            **draft.taken_as_asked(),
        )
        conference.sync_roster(network)
        for delegate in draft.delegates:
            conference._add_invitation(EXTERNAL_SOURCE, delegate.person(), delegate.group)
        return conference, []

    def publish(
        self,
        network: NetworkView,
        others: list[Conference],
        *,
        now: datetime,
        reminder_offsets: Sequence[int],
    ) -> list[EventPayload]:
        """Turn the draft into a scheduled conference: the invitations go out, the reminders
        are planned, and its time is now taken."""
        self._require_draft()
        errors = _check_times(self.starts_at, self.ends_at, now)
        if errors:
            raise InvalidInput(errors)
        _require_agreement(network)
        _require_no_overlap(self.starts_at, self.ends_at, others, self.conference_id)
        self.sync_roster(network)
        self.status = ConferenceStatus.SCHEDULED
        self.reminders = [
            Reminder(offset, self.starts_at - timedelta(seconds=offset))
            for offset in sorted(set(reminder_offsets), reverse=True)
        ]
        self._skip_reminders(due_by=now)
        return [self.invitation_event()]

    def invitation_event(self) -> ConferenceScheduled:
        """The event that sends the invitations, as publishing causes it (a draft's preview
        shows it as it will be: the conference scheduled)."""
        return ConferenceScheduled(
            **self._snapshot(),
            invitees=self.invitees(),
        )

    def as_draft(self) -> ConferenceDraft:
        """The conference in the terms it was asked for: what an edit starts from."""
        return ConferenceDraft(
            title=self.title,
            kind=self.kind,
            topic=self.topic,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            venue=self.venue,
            online_url=self.online_url,
            agenda=tuple(
                AgendaDraft(a.title, a.description, a.field_of_action_id) for a in self.agenda
            ),
            capacity=self.capacity,
            delegates=tuple(
                Delegate(i.person.name, str(i.person.email), i.person.organisation, i.group)
                for i in self._current()
                if i.source == EXTERNAL_SOURCE
            ),
        )

    def edit(
        self, draft: ConferenceDraft, network: NetworkView, *, now: datetime
    ) -> list[EventPayload]:
        """Take over the conference as asked for now (the caller's merge patch applied to
        `as_draft()`). A draft changes freely and tells nobody. A scheduled conference changes
        only in what `EDITABLE_WHEN_SCHEDULED` names; a change its invitees see raises the
        calendar SEQUENCE and sends them an update (`conference-updated`), a larger capacity
        moves the waiting list up. Nothing changed: no event."""
        if self.status == ConferenceStatus.DRAFT:
            agenda = _check_draft(draft, network, now)
            self._take(draft, agenda)
            self._replace_delegates(draft.delegates)
            return []
        self._require_planned(now)
        current = self.as_draft()
        changed = [n for n in _DRAFT_FIELDS if getattr(draft, n) != getattr(current, n)]
        agenda, errors = self.agenda, list[tuple[str, str]]()
        if "agenda" in changed:  # resolved again only when asked: titles stay as invited
            agenda, errors = _resolve_agenda(draft.agenda, network)
        errors += [
            (name, _NOT_EDITABLE_WHEN_SCHEDULED[name])
            for name in changed
            if name not in EDITABLE_WHEN_SCHEDULED
        ]
        errors += _check_content(draft)
        if draft.capacity is not None and draft.capacity < self.counts().accepted:
            errors.append(
                (
                    "capacity",
                    f"{self.counts().accepted} invitees have accepted; the capacity cannot be "
                    "lower (ask some to decline first)",
                )
            )
        if errors:
            raise InvalidInput(errors)
        if not changed:
            return []
        self._take(draft, agenda)
        events: list[EventPayload] = []
        seen = [name for name in changed if name in SEEN_BY_INVITEES]
        if seen:
            self.sequence += 1
            events.append(
                ConferenceUpdated(**self._snapshot(), changed=seen, invitees=self.invitees())
            )
        while promoted := self._promote_from_waitlist():  # a larger capacity frees seats
            events += promoted
        return events

    def discard(self) -> None:
        """A draft may be thrown away: nobody knows of it. A published one is cancelled."""
        self._require_draft()

    def reschedule(
        self,
        starts_at: datetime,
        ends_at: datetime,
        others: list[Conference],
        *,
        now: datetime,
        venue: Venue | None = None,
        online_url: str | None = None,
    ) -> list[EventPayload]:
        self._require_planned(now)
        errors = _check_times(starts_at, ends_at, now)
        if errors:
            raise InvalidInput(errors)
        _require_no_overlap(starts_at, ends_at, others, self.conference_id)
        previous_starts_at, previous_ends_at = self.starts_at, self.ends_at
        self.starts_at, self.ends_at = starts_at, ends_at
        if venue is not None:
            self.venue = venue
        if online_url is not None:
            self.online_url = online_url
        self.sequence += 1
        self.time_sequence = self.sequence  # answers to an older entry accepted another time
        # A reminder is sent once per conference and offset: the ones still pending move with
        # the date, the ones already sent stay sent (the invitees got the update mail anyway).
        for reminder in self.reminders:
            if reminder.state in ("pending", "skipped"):  # never sent: due again for the new date
                reminder.state = "pending"
                reminder.due_at = starts_at - timedelta(seconds=reminder.offset_seconds)
        self._skip_reminders(due_by=now)
        return [
            ConferenceRescheduled(
                **self._snapshot(),
                previous_starts_at=previous_starts_at,
                previous_ends_at=previous_ends_at,
                invitees=self.invitees(),
            )
        ]

    def cancel(self, reason: str, *, now: datetime) -> list[EventPayload]:
        self._require_scheduled()
        if now >= self.ends_at:
            raise Refused("already-over", "Already over", "The conference has already ended.")
        self.status = ConferenceStatus.CANCELLED
        self.cancel_reason = reason
        self._skip_reminders()
        return [ConferenceCancelled(**self._snapshot(), reason=reason, invitees=self.invitees())]

    def conclude(
        self,
        summary: str,
        recommendations: Sequence[RecommendationDraft],
        network: NetworkView,
        *,
        now: datetime,
    ) -> list[EventPayload]:
        self._require_scheduled()
        errors: list[tuple[str, str]] = []
        resolved: list[Recommendation] = []
        for i, draft in enumerate(recommendations):
            title = network.field_title(draft.field_of_action_id)
            status = network.fields.get(draft.field_of_action_id, {}).get("status")
            if title is None or status == "proposed":
                errors.append(
                    (
                        f"recommendations.{i}.field_of_action_id",
                        f"{draft.field_of_action_id!r} is no adopted field of action of this "
                        "network",
                    )
                )
                continue
            resolved.append(
                Recommendation(
                    field_of_action_id=draft.field_of_action_id,
                    field_of_action_title=title,
                    text=draft.text,
                )
            )
        if errors:
            raise InvalidInput(errors)
        if now < self.ends_at:
            raise Refused(
                "not-ended",
                "Not ended yet",
                "Results can be recorded only after the conference has ended "
                f"({self.ends_at.isoformat()}).",
            )
        self.status = ConferenceStatus.CONCLUDED
        self.summary = summary
        self.recommendations = resolved
        self._skip_reminders()
        return [
            ConferenceConcluded(
                **self._snapshot(),
                summary=summary,
                recommendations=resolved,
                attendance=self.counts(),
            )
        ]

    # ================================================================== invitations

    def invite_delegate(self, delegate: Delegate, *, now: datetime) -> list[EventPayload]:
        self._require_planned(now)
        self._require_not_invited(delegate.email)
        invitation = self._add_invitation(EXTERNAL_SOURCE, delegate.person(), delegate.group)
        return [ParticipantInvited(**self._snapshot(), invitee=self._invitee(invitation))]

    def delegate_of(self, invitation_id: str) -> Delegate:
        """The external delegate behind an invitation, as a correction starts from it."""
        invitation = self.invitation(invitation_id)
        _require_external(invitation)
        return Delegate(
            name=invitation.person.name,
            email=invitation.person.email,
            institution=invitation.person.organisation,
            group=invitation.group,
        )

    def change_delegate(
        self, invitation_id: str, delegate: Delegate, *, now: datetime
    ) -> list[EventPayload]:
        """Correct an external delegate's data. A new address gets the invitation again (the
        old one never had it, or should not have it any more); other corrections send nothing."""
        self._require_planned(now)
        invitation = self.invitation(invitation_id)
        _require_external(invitation)
        if not same_address(invitation.person.email, delegate.email):
            self._require_not_invited(delegate.email)
        moved = invitation.readdress(delegate.person())
        invitation.group = delegate.group
        if not moved:
            return []
        return [ParticipantInvited(**self._snapshot(), invitee=self._invitee(invitation))]

    def mark_undeliverable(
        self, invitation_id: str, recipient: str, reason: str, failed_at: datetime
    ) -> list[EventPayload]:
        """Record that mail to an invitation failed. It causes no event: the mark is for the
        office, which sees it on the conference and corrects the address.

        Ignored: unknown or withdrawn invitations, failures for another address than the current
        one (corrected since: the failure is stale), and repeats or older failures.
        """
        invitation = self._current_invitation(invitation_id)
        if invitation is not None and same_address(invitation.person.email, recipient):
            known = invitation.delivery_problem
            if known is None or known.failed_at < failed_at:
                invitation.delivery_problem = DeliveryProblem(reason, failed_at, recipient)
        return []

    def sync_roster(self, network: NetworkView) -> list[EventPayload]:
        """Follow the registry: invite new committee members and office staff, update changed
        addresses, withdraw the invitations of people who left.

        A plenary conference invites the steering committee and the education office; a partial
        one (Teilversammlung) only the office by default, its other invitees are chosen by topic.
        A corrected address gets the invitation again (and loses the old address's delivery
        problem); the caller follows only conferences still open for answers.
        Idempotent: a second call with the same view changes nothing.
        """
        self.network = _network_ref(network)
        self.organizer = _organizer(network)
        wanted: dict[str, tuple[Person, StakeholderGroup]] = {
            STAFF_SOURCE + k: (p, StakeholderGroup.EDUCATION_OFFICE)
            for k, p in network.staff_people().items()
        }
        if self.kind == ConferenceKind.PLENARY:
            wanted |= {
                COMMITTEE_SOURCE + k: (p, StakeholderGroup.STEERING_COMMITTEE)
                for k, p in network.committee_people(on=to_berlin(self.starts_at).date()).items()
            }
        published = self.status == ConferenceStatus.SCHEDULED  # drafts tell nobody
        events: list[EventPayload] = []
        by_source = {i.source: i for i in self.invitations if i.source != EXTERNAL_SOURCE}
        for source, (person, group) in wanted.items():
            existing = by_source.get(source)
            if existing is None and is_erased_address(str(person.email)):
                continue  # a seat whose person was erased: a new conference invites nobody
            if existing is None:
                invitation = self._add_invitation(source, person, group)
                events.append(
                    ParticipantInvited(**self._snapshot(), invitee=self._invitee(invitation))
                )
            elif existing.withdrawn:
                existing.withdrawn = False
                existing.readdress(person)
                existing.response, existing.waitlisted = Response.PENDING, False
                if published:  # the new REQUEST must supersede the withdrawal's CANCEL
                    self.sequence += 1
                events.append(
                    ParticipantInvited(**self._snapshot(), invitee=self._invitee(existing))
                )
            elif not existing.erased and existing.readdress(person):
                # (An erased invitation keeps its placeholder: a view read before the erasure
                # must not bring the person back.)
                events.append(
                    ParticipantInvited(**self._snapshot(), invitee=self._invitee(existing))
                )
        for source, invitation in by_source.items():
            if source not in wanted and not invitation.withdrawn:
                events += self._withdraw(invitation, _withdrawal_reason(source, network))
        # An erased person the projection still seats (anonymised) is invited, never mailed.
        return [
            e
            for e in events
            if not (
                isinstance(e, ParticipantInvited) and is_erased_address(str(e.invitee.person.email))
            )
        ]

    def withdraw_delegate(self, invitation_id: str, *, now: datetime) -> list[EventPayload]:
        """Take an external delegate off the conference. A draft's delegate simply goes (a
        draft tells nobody); a published conference's gets the withdrawal (a CANCEL of their
        entry, SEQUENCE raised), and a seat they held goes to the first on the waiting list.
        Committee members and office staff follow the registry (409)."""
        if self.status != ConferenceStatus.DRAFT:
            self._require_planned(now)
        invitation = self.invitation(invitation_id)
        _require_external(invitation)
        if self.status == ConferenceStatus.DRAFT:
            self.invitations.remove(invitation)
            return []
        return self._withdraw(invitation, WithdrawalReason.DELEGATE_REMOVED)

    def respond(
        self, invitation_id: str, response: Response, *, now: datetime
    ) -> list[EventPayload]:
        """Record an answer. Acceptances beyond the capacity go to the waiting list; a freed
        seat goes to the first on it. The same answer twice changes nothing."""
        if response == Response.PENDING:
            raise InvalidInput.one("response", "answer accepted, declined or tentative")
        self._require_planned(now)
        invitation = self.invitation(invitation_id)
        previous = invitation.response
        had_seat = invitation.has_seat
        if previous == response:
            return []
        full_without_this_one = self._full()  # counted before this answer takes a seat
        invitation.response = response
        invitation.responded_at = now
        invitation.waitlisted = False
        invitation.waitlist_seq = None
        if response == Response.ACCEPTED and full_without_this_one:
            invitation.waitlisted = True
            invitation.waitlist_seq = self.next_waitlist_seq
            self.next_waitlist_seq += 1
        events: list[EventPayload] = [
            ParticipantResponded(
                **self._snapshot(),
                invitee=self._invitee(invitation),
                previous_response=previous,
                counts=self.counts(),
            )
        ]
        if had_seat:
            events += self._promote_from_waitlist()
        return events

    def invitation(self, invitation_id: str) -> Invitation:
        invitation = self._current_invitation(invitation_id)
        if invitation is None:
            raise NotFound(f"invitation {invitation_id}")
        return invitation

    def _invitee(self, invitation: Invitation) -> Invitee:
        """The invitation as its events name it, with its place on the waiting list."""
        return invitation.as_invitee().model_copy(
            update={"waitlist_position": self.waitlist_position(invitation)}
        )

    def waitlist_position(self, invitation: Invitation) -> int | None:
        if not invitation.waitlisted:
            return None
        queue = sorted(
            (i for i in self.invitations if i.waitlisted and not i.withdrawn),
            key=lambda i: i.waitlist_seq or 0,
        )
        return queue.index(invitation) + 1

    # ================================================================== reminders

    @property
    def next_reminder_due_at(self) -> datetime | None:
        if self.status != ConferenceStatus.SCHEDULED:
            return None
        pending = [r.due_at for r in self.reminders if r.state == "pending"]
        return min(pending) if pending else None

    def claim_due_reminders(self, now: datetime) -> list[EventPayload]:
        """Mark due reminders as sent and return their events (stored in the same write).

        If several are overdue at once (the service was down), only the one closest to the start
        goes out; a reminder is never sent after the conference has started.
        """
        due = [r for r in self.reminders if r.state == "pending" and r.due_at <= now]
        if not due or self.status != ConferenceStatus.SCHEDULED:
            return []
        due.sort(key=lambda r: r.offset_seconds)
        send = due[0] if now < self.starts_at else None
        events: list[EventPayload] = []
        for reminder in due:
            if reminder is send:
                reminder.state, reminder.sent_at = "sent", now
                events.append(
                    ConferenceReminderDue(
                        **self._snapshot(),
                        offset=timedelta(seconds=reminder.offset_seconds),
                        due_at=reminder.due_at,
                        recipients=[
                            self._invitee(i)
                            for i in self._current()
                            if i.response != Response.DECLINED and not i.erased
                        ],
                    )
                )
            else:
                reminder.state = "skipped"
        return events

    # ================================================================== reading

    def invitees(self) -> list[Invitee]:
        """Whom a conference's mail goes to: its current invitees, an erased person not."""
        return [self._invitee(i) for i in self._current() if not i.erased]

    # ================================================================== privacy

    def erase(self, subject: str) -> list[Person]:
        """Anonymise every invitation of the subject (withdrawn ones too); the persons as they
        were (what else may still quote them), none if the conference held no copy. Causes no
        event: an update would mail the other invitees, and the person is mailed nothing."""
        erased = [i.erase(subject) for i in self.invitations]
        return [p for p in erased if p is not None]

    def forget_invitees(self, now: datetime, retention: timedelta) -> int:
        """Retention: a published conference that ended longer than `retention` ago keeps its
        invitations, answers and counts, but no invitee's name or address. How many it
        anonymised now (a repeat: none)."""
        if self.status == ConferenceStatus.DRAFT or now - self.ends_at <= retention:
            return 0
        return sum(
            i.erase(subject_of(str(i.person.email))) is not None
            for i in self.invitations
            if not i.erased
        )

    def counts(self) -> ResponseCounts:
        current = self._current()
        return ResponseCounts(
            accepted=sum(1 for i in current if i.has_seat),
            declined=sum(1 for i in current if i.response == Response.DECLINED),
            tentative=sum(1 for i in current if i.response == Response.TENTATIVE),
            pending=sum(1 for i in current if i.response == Response.PENDING),
            waitlisted=sum(1 for i in current if i.waitlisted),
        )

    def undeliverable_count(self) -> int:
        return sum(1 for i in self._current() if i.undeliverable)

    def answers_current_time(self, sequence: int) -> bool:
        """Does a calendar answer to the entry at `sequence` answer the time as it is now? One
        from before the last reschedule does not (the update asked again); changes that keep the
        time (title, venue, others' withdrawals) leave an older entry's answer valid."""
        return sequence >= self.time_sequence

    def open_for_answers(self, now: datetime) -> bool:
        return self.status == ConferenceStatus.SCHEDULED and now < self.starts_at

    # ================================================================== internals

    def _current(self) -> list[Invitation]:
        return [i for i in self.invitations if not i.withdrawn]

    def _current_invitation(self, invitation_id: str) -> Invitation | None:
        for invitation in self._current():
            if invitation.invitation_id == invitation_id:
                return invitation
        return None

    def _require_not_invited(self, email: str) -> None:
        if any(same_address(i.person.email, email) for i in self._current()):
            raise Refused("already-invited", "Already invited", f"{email} is already invited.")

    def _full(self) -> bool:
        return self.capacity is not None and self.counts().accepted >= self.capacity

    def _promote_from_waitlist(self) -> list[EventPayload]:
        queue = sorted(
            (i for i in self._current() if i.waitlisted), key=lambda i: i.waitlist_seq or 0
        )
        if not queue or self._full():
            return []
        promoted = queue[0]
        promoted.waitlisted = False
        promoted.waitlist_seq = None
        return [
            ParticipantResponded(
                **self._snapshot(),
                invitee=self._invitee(promoted),
                previous_response=Response.ACCEPTED,
                promoted_from_waitlist=True,
                counts=self.counts(),
            )
        ]

    def _withdraw(self, invitation: Invitation, reason: WithdrawalReason) -> list[EventPayload]:
        """Take an invitation back: a published conference tells its invitee (the CANCEL
        supersedes the last REQUEST), and a freed seat goes to the first on the waiting list."""
        had_seat = invitation.has_seat
        invitation.withdrawn = True
        invitation.waitlisted = False
        events: list[EventPayload] = []
        if self.status == ConferenceStatus.SCHEDULED:  # drafts tell nobody
            self.sequence += 1
            events.append(
                ParticipantWithdrawn(
                    **self._snapshot(), invitee=invitation.as_invitee(), reason=reason
                )
            )
        if had_seat:
            events += self._promote_from_waitlist()
        return events

    def _add_invitation(self, source: str, person: Person, group: StakeholderGroup) -> Invitation:
        invitation = Invitation(f"inv-{self.next_invitation_no}", source, person, group)
        self.next_invitation_no += 1
        self.invitations.append(invitation)
        return invitation

    def _take(self, draft: ConferenceDraft, agenda: list[AgendaItem]) -> None:
        for name, value in draft.taken_as_asked().items():
            setattr(self, name, value)
        self.agenda = agenda

    def _replace_delegates(self, delegates: Sequence[Delegate]) -> None:
        """A draft's external delegates as now listed: one kept by address keeps its
        invitation id (and so its preview), the others are added or dropped."""
        wanted = {address_key(d.email): d for d in delegates}
        kept: list[Invitation] = []
        for invitation in self.invitations:
            if invitation.source != EXTERNAL_SOURCE:
                kept.append(invitation)
                continue
            delegate = wanted.pop(address_key(str(invitation.person.email)), None)
            if delegate is not None:
                invitation.readdress(delegate.person())
                invitation.group = delegate.group
                kept.append(invitation)
        self.invitations = kept
        for delegate in delegates:
            if address_key(delegate.email) in wanted:
                self._add_invitation(EXTERNAL_SOURCE, delegate.person(), delegate.group)

    def _require_draft(self) -> None:
        if self.status != ConferenceStatus.DRAFT:
            raise Refused("not-a-draft", "Not a draft", f"The conference is {self.status.value}.")

    def _require_scheduled(self) -> None:
        if self.status != ConferenceStatus.SCHEDULED:
            raise Refused("not-planned", "Not planned", f"The conference is {self.status.value}.")

    def _require_planned(self, now: datetime) -> None:
        self._require_scheduled()
        if now >= self.starts_at:
            raise Refused("already-started", "Already started", "The conference has started.")

    def _skip_reminders(self, *, due_by: datetime | None = None) -> None:
        """Pending reminders due by `due_by` (all, without it) will not be sent: one due before
        the invitation or its update would only be noise."""
        for reminder in self.reminders:
            if reminder.state == "pending" and (due_by is None or reminder.due_at <= due_by):
                reminder.state = "skipped"

    def _snapshot(self) -> dict[str, Any]:
        """The fields every conference event carries: the conference as it stands."""
        # No event of a draft is ever kept (preparing, editing and publishing it drop what
        # following the roster says): the one it leads to is its invitation, as scheduled.
        status = (
            ConferenceStatus.SCHEDULED if self.status is ConferenceStatus.DRAFT else self.status
        )
        return {name: getattr(self, name) for name in _SNAPSHOT_FIELDS} | {
            "status": PublishedStatus(status.value)
        }


# What every conference event says of the conference (the contract's base payload), each as the
# aggregate holds it; the time zone the times are shown in is the contract's default.
_SNAPSHOT_FIELDS = tuple(name for name in ConferenceFacts.model_fields if name != "timezone")


# What an office may still change once the invitations are out (times: /reschedule; invitees:
# the invitation routes), and of that what the invitation shows, so that its change is an update.
EDITABLE_WHEN_SCHEDULED = frozenset({"title", "topic", "agenda", "capacity", "venue", "online_url"})
SEEN_BY_INVITEES = frozenset({"title", "topic", "agenda", "venue", "online_url"})
_DRAFT_FIELDS = tuple(part.name for part in fields(ConferenceDraft))
_NOT_EDITABLE_WHEN_SCHEDULED = {
    "kind": "can change only on a draft; cancel and plan a new conference instead",
    "starts_at": "can change only on a draft; move a published conference with /reschedule",
    "ends_at": "can change only on a draft; move a published conference with /reschedule",
    "delegates": "can change only on a draft; use the invitation routes of the conference",
}


def _check_content(draft: ConferenceDraft) -> list[tuple[str, str]]:
    """The rules of what a conference says, whatever its state."""
    errors = []
    if draft.venue is None and draft.online_url is None:
        errors.append(("venue", "give a venue, an online link, or both"))
    if draft.kind == ConferenceKind.PARTIAL and not draft.topic:
        errors.append(("topic", "a partial conference (Teilversammlung) needs a topic"))
    return errors


def _check_draft(draft: ConferenceDraft, network: NetworkView, now: datetime) -> list[AgendaItem]:
    """The draft's agenda resolved, or InvalidInput naming every field that breaks a rule."""
    errors = _check_times(draft.starts_at, draft.ends_at, now) + _check_content(draft)
    agenda, agenda_errors = _resolve_agenda(draft.agenda, network)
    errors += agenda_errors
    seen: set[str] = set()
    for i, delegate in enumerate(draft.delegates):
        if address_key(delegate.email) in seen:
            errors.append((f"delegates.{i}.email", "this address is already invited"))
        seen.add(address_key(delegate.email))
    if errors:
        raise InvalidInput(errors)
    return agenda


def overlaps(starts_at: datetime, ends_at: datetime, other: Conference) -> bool:
    return starts_at < other.ends_at and other.starts_at < ends_at


def _check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> list[tuple[str, str]]:
    errors = []
    if starts_at <= now:
        errors.append(("starts_at", "lies in the past; a conference is planned for the future"))
    if ends_at <= starts_at:
        errors.append(("ends_at", "must be after starts_at"))
    return errors


def _resolve_agenda(
    drafts: tuple[AgendaDraft, ...], network: NetworkView
) -> tuple[list[AgendaItem], list[tuple[str, str]]]:
    items, errors = [], []
    for i, draft in enumerate(drafts):
        title = None
        if draft.field_of_action_id is not None:
            title = network.adopted_field_title(draft.field_of_action_id)
            if title is None:
                errors.append(
                    (
                        f"agenda.{i}.field_of_action_id",
                        f"{draft.field_of_action_id!r} is no adopted field of action of "
                        f"network {network.network_id!r}",
                    )
                )
                continue
        items.append(
            AgendaItem(
                title=draft.title,
                description=draft.description,
                field_of_action_id=draft.field_of_action_id,
                field_of_action_title=title,
            )
        )
    return items, errors


def _withdrawal_reason(source: str, network: NetworkView) -> WithdrawalReason:
    """Why an invitation from the roster was taken back: a committee member still listed
    has only seen their term end before the conference."""
    if source.startswith(STAFF_SOURCE):
        return WithdrawalReason.REMOVED_FROM_OFFICE
    if source.removeprefix(COMMITTEE_SOURCE) in network.committee_people():
        return WithdrawalReason.TERM_ENDED
    return WithdrawalReason.REMOVED_FROM_COMMITTEE


def _require_external(invitation: Invitation) -> None:
    if invitation.source != EXTERNAL_SOURCE:
        raise Refused(
            "managed-in-registry",
            "Managed in the registry",
            f"Invitation {invitation.invitation_id} belongs to a committee member or office staff "
            "member; change it in the registry, the invitation follows.",
        )


def _require_agreement(network: NetworkView) -> None:
    if not network.agreement_active:
        raise Refused(
            "no-active-agreement",
            "No active cooperation agreement",
            f"Network {network.network_id!r} has no active cooperation agreement "
            "(Kooperationsvertrag), so it cannot schedule a conference.",
        )


def _require_no_overlap(
    starts_at: datetime, ends_at: datetime, others: list[Conference], own_id: str
) -> None:
    for other in others:
        if (
            other.conference_id != own_id
            and other.status == ConferenceStatus.SCHEDULED
            and overlaps(starts_at, ends_at, other)
        ):
            raise Refused(
                "overlap",
                "Overlapping conference",
                f"The network already has conference {other.conference_id!r} "
                f"({other.title}) from {other.starts_at.isoformat()} to "
                f"{other.ends_at.isoformat()}.",
            )


def _network_ref(network: NetworkView) -> NetworkRef:
    return NetworkRef(id=network.network_id, name=network.name, office_email=network.office_email)


def _organizer(network: NetworkView) -> Person:
    return Person(
        # Cut to the name's limit: a long network name must not stop following the registry.
        name=(network.office_name or f"Regionales Bildungsbüro {network.name}")[:200],
        email=network.office_email or "bildungsbuero@example.org",
        organisation=network.name,
    )
