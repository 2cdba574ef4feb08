"""Example events of every kind, as the registry and the conference service would send them.

Used by the tests and to render the mails in docs/mails (rbn_tools.render_mails); `email_tag`
makes addresses unique.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from rbn_shared.events.base import MunicipalityKind, NetworkRef, Person, Side, Supervision
from rbn_shared.events.conferences import (
    AgendaItem,
    ConferenceCancelled,
    ConferenceConcluded,
    ConferenceKind,
    ConferenceReminderDue,
    ConferenceRescheduled,
    ConferenceScheduled,
    ConferenceStatus,
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
from rbn_shared.events.registry import (
    CommitteeMemberAdded,
    CommitteeMemberRemoved,
    CommitteeRole,
    DistrictBulletinPublished,
    DistrictCoordinationChanged,
    Employer,
    FieldOfActionAdopted,
    FieldOfActionClosed,
    FieldStatus,
    Municipality,
    NetworkRegistered,
    OfficeContact,
    OfficeStaffAssigned,
    ServiceUnit,
)

STARTS = datetime(2027, 3, 10, 13, 0, tzinfo=UTC)  # 14:00 in Berlin
ENDS = datetime(2027, 3, 10, 16, 0, tzinfo=UTC)


class Examples:
    """One network (Bochum by default) with its people, and events about it."""

    def __init__(
        self,
        tag: str = "",
        network_id: str = "bochum",
        network_name: str = "Bochum",
        conference_id: str = "konferenz-2027",
    ) -> None:
        self.tag = tag
        self.network_id = network_id
        self.network_name = network_name
        self.conference_id = conference_id

    def email(self, local: str, domain: str = "schule.example.org") -> str:
        suffix = f".{self.tag}" if self.tag else ""
        return f"{local}{suffix}@{domain}"

    @property
    def office_email(self) -> str:
        return self.email("bildungsbuero", f"{self.network_id}.example.org")

    @property
    def network(self) -> NetworkRef:
        return NetworkRef(
            id=self.network_id, name=self.network_name, office_email=self.office_email
        )

    def person(self, name: str, local: str, organisation: str | None = None) -> Person:
        return Person(name=name, email=self.email(local), organisation=organisation)

    # ------------------------------------------------------------------ registry

    def network_registered(self) -> NetworkRegistered:
        return NetworkRegistered(
            network=self.network,
            municipality=Municipality(name=self.network_name, kind=MunicipalityKind.CITY),
            office=OfficeContact(
                name=f"Regionales Bildungsbüro {self.network_name}", email=self.office_email
            ),
        )

    def committee_member_added(
        self, member_id: str = "m-1", name: str = "Dr. Anna Schmidt", local: str = "anna.schmidt"
    ) -> CommitteeMemberAdded:
        return CommitteeMemberAdded(
            network=self.network,
            member_id=member_id,
            person=Person(
                name=name,
                email=self.email(local),
                organisation="Bezirksregierung Arnsberg",
                function="Schulaufsicht Gymnasien",
            ),
            side=Side.STATE,
            role=CommitteeRole.MEMBER,
            supervision=Supervision.UPPER,
            term_start=date(2027, 2, 1),
        )

    def committee_member_removed(self, member_id: str = "m-1") -> CommitteeMemberRemoved:
        added = self.committee_member_added(member_id)
        return CommitteeMemberRemoved(
            **added.model_dump(exclude={"person"}),
            person=added.person,
            removed_on=date(2027, 7, 31),
            reason="Wechsel in eine andere Dienststelle",
        )

    def office_staff_assigned(self) -> OfficeStaffAssigned:
        return OfficeStaffAssigned(
            network=self.network,
            staff_id="s-1",
            person=self.person("Jonas Becker", "jonas.becker", "Gesamtschule Bochum-Mitte"),
            employer=Employer.STATE,
            released_from_school="Gesamtschule Bochum-Mitte",
            hours_share=0.5,
            start_date=date(2027, 2, 1),
        )

    def field_of_action_adopted(
        self, title: str = "Übergang Schule – Beruf"
    ) -> FieldOfActionAdopted:
        return FieldOfActionAdopted(
            network=self.network,
            field_id="f-1",
            title=title,
            starting_situation=(
                "Viele Jugendliche verlassen die Schule ohne Anschluss.\n\n"
                "Die Angebote der Berufsorientierung sind wenig abgestimmt."
            ),
            development_needs="Gemeinsame Standards für Praktika; ein Netzwerk der Betriebe.",
            status=FieldStatus.ADOPTED,
            adopted_on=date(2027, 1, 20),
        )

    def field_of_action_closed(self, title: str = "Ganztag an Grundschulen") -> FieldOfActionClosed:
        return FieldOfActionClosed(
            network=self.network,
            field_id="f-0",
            title=title,
            starting_situation="Ausbau des Ganztags.",
            development_needs="Abgeschlossen.",
            status=FieldStatus.CLOSED,
            closed_on=date(2027, 1, 31),
        )

    def district_coordination_changed(self) -> DistrictCoordinationChanged:
        return DistrictCoordinationChanged(
            coordinator=Person(
                name="Petra Hoffmann",
                email=self.email("petra.hoffmann", "bezreg.example.org"),
                function="Obere Schulaufsicht, Bezirkskoordination",
            ),
            service_unit=ServiceUnit(
                name="Servicestelle Bildungsnetzwerke",
                email=self.email("servicestelle", "bezreg.example.org"),
            ),
        )

    def district_bulletin_published(self, network_ids: list[str]) -> DistrictBulletinPublished:
        return DistrictBulletinPublished(
            bulletin_id="b-1",
            title="Neue Handreichung zur Berufsorientierung",
            body=(
                "Das Schulministerium hat eine Handreichung zur Berufsorientierung "
                "veröffentlicht.\n\n"
                "Bitte berücksichtigen Sie sie bei der Planung der nächsten Bildungskonferenz."
            ),
            published_on=date(2027, 2, 15),
            author=Person(
                name="Petra Hoffmann",
                email=self.email("petra.hoffmann", "bezreg.example.org"),
                function="Bezirkskoordination",
            ),
            network_ids=network_ids,
        )

    # ------------------------------------------------------------------ conferences

    def invitee(
        self,
        n: int,
        response: Response = Response.PENDING,
        name: str | None = None,
        local: str | None = None,
    ) -> Invitee:
        return Invitee(
            invitation_id=f"inv-{n}",
            person=Person(
                name=name or f"Schulleitung {n}",
                email=self.email(local or f"schulleitung{n}"),
                organisation=f"Grundschule Nr. {n}",
            ),
            group=StakeholderGroup.SCHOOL,
            response=response,
            response_url=f"https://konferenzen.example.org/antwort/inv-{n}",
        )

    def _conference(self, sequence: int = 0, **changes: object) -> dict[str, object]:
        fields: dict[str, object] = {
            "network": self.network,
            "conference_id": self.conference_id,
            "title": "Regionale Bildungskonferenz 2027: Übergänge gestalten",
            "kind": ConferenceKind.PLENARY,
            "status": ConferenceStatus.SCHEDULED,
            "starts_at": STARTS,
            "ends_at": ENDS,
            "venue": Venue(
                name="Kulturzentrum Bahnhof Langendreer", address="Wallbaumweg 108, 44894 Bochum"
            ),
            "agenda": [
                AgendaItem(title="Begrüßung und Rückblick auf das Jahr 2026"),
                AgendaItem(
                    title="Übergang Schule – Beruf: Ergebnisse der Arbeitsgruppe",
                    field_of_action_id="f-1",
                    field_of_action_title="Übergang Schule – Beruf",
                ),
                AgendaItem(title="Empfehlungen an den Lenkungskreis"),
            ],
            "organizer": Person(
                name=f"Regionales Bildungsbüro {self.network_name}", email=self.office_email
            ),
            "sequence": sequence,
        }
        fields.update(changes)
        return fields

    def conference_scheduled(self, invitees: list[Invitee], **changes: Any) -> ConferenceScheduled:
        return ConferenceScheduled(**self._conference(**changes), invitees=invitees)

    def conference_rescheduled(
        self, invitees: list[Invitee], sequence: int = 1, shift: timedelta = timedelta(days=7)
    ) -> ConferenceRescheduled:
        return ConferenceRescheduled(
            **self._conference(sequence, starts_at=STARTS + shift, ends_at=ENDS + shift),
            previous_starts_at=STARTS,
            previous_ends_at=ENDS,
            invitees=invitees,
        )

    def conference_updated(
        self, invitees: list[Invitee], sequence: int = 1, changed: tuple[str, ...] = ("venue",)
    ) -> ConferenceUpdated:
        """The office moved the conference to another room: same time, an update."""
        return ConferenceUpdated(
            **self._conference(
                sequence,
                venue=Venue(
                    name="Kulturzentrum Lüdenscheid",
                    address="Freiherr-vom-Stein-Straße 9, 58511 Lüdenscheid",
                ),
            ),
            changed=list(changed),
            invitees=invitees,
        )

    def conference_cancelled(
        self, invitees: list[Invitee], sequence: int = 1
    ) -> ConferenceCancelled:
        return ConferenceCancelled(
            **self._conference(sequence, status=ConferenceStatus.CANCELLED),
            reason="Der Veranstaltungsort steht wegen eines Wasserschadens nicht zur Verfügung.",
            invitees=invitees,
        )

    def participant_invited(self, invitee: Invitee) -> ParticipantInvited:
        return ParticipantInvited(**self._conference(), invitee=invitee)

    def participant_withdrawn(
        self,
        invitee: Invitee,
        reason: WithdrawalReason = WithdrawalReason.REMOVED_FROM_COMMITTEE,
        sequence: int = 1,
    ) -> ParticipantWithdrawn:
        """A committee member left after the invitations went out: the withdrawal raised the
        calendar's SEQUENCE."""
        return ParticipantWithdrawn(
            **self._conference(sequence),
            invitee=invitee.model_copy(update={"response_url": None}),
            reason=reason,
        )

    def conference_reminder_due(self, recipients: list[Invitee]) -> ConferenceReminderDue:
        return ConferenceReminderDue(
            **self._conference(),
            offset=timedelta(days=7),
            due_at=STARTS - timedelta(days=7),
            recipients=recipients,
        )

    def participant_responded(self, invitee: Invitee) -> ParticipantResponded:
        return ParticipantResponded(
            **self._conference(),
            invitee=invitee.model_copy(update={"response": Response.ACCEPTED}),
            previous_response=Response.PENDING,
            counts=ResponseCounts(accepted=23, declined=4, tentative=3, pending=12),
        )

    def participant_waitlisted(self, invitee: Invitee, position: int = 3) -> ParticipantResponded:
        """A Zusage to a full conference: the invitee is on the waiting list, at `position`."""
        return ParticipantResponded(
            **self._conference(),
            invitee=invitee.model_copy(
                update={
                    "response": Response.ACCEPTED,
                    "waitlisted": True,
                    "waitlist_position": position,
                }
            ),
            previous_response=Response.PENDING,
            counts=ResponseCounts(
                accepted=40, declined=4, tentative=3, pending=9, waitlisted=position
            ),
        )

    def participant_moved_up(self, invitee: Invitee) -> ParticipantResponded:
        """Someone with a seat declined: the first on the waiting list gets it, as the
        conferences service announces it (the same Zusage, `promoted_from_waitlist`)."""
        return ParticipantResponded(
            **self._conference(),
            invitee=invitee.model_copy(update={"response": Response.ACCEPTED}),
            previous_response=Response.ACCEPTED,
            promoted_from_waitlist=True,
            counts=ResponseCounts(accepted=40, declined=5, tentative=3, pending=9, waitlisted=2),
        )

    def answers(self) -> list[ParticipantResponded]:
        """A morning's answers to one conference, as the office's overview lists them: a
        Zusage, an Absage after a Zusage, one under reservation, a place on the waiting list."""
        counts = ResponseCounts(accepted=40, declined=4, tentative=3, pending=12)
        first = self.participant_responded(self.invitee(1, name="Sabine Krüger", local="sabine"))
        declined = self.invitee(2, name="Thomas Wagner", local="thomas")
        tentative = self.invitee(3, name="Aylin Demir", local="aylin")
        waiting = self.invitee(4, name="Jonas Becker", local="jonas")
        return [
            first.model_copy(update={"counts": counts}),
            first.model_copy(
                update={
                    "invitee": declined.model_copy(update={"response": Response.DECLINED}),
                    "previous_response": Response.ACCEPTED,
                    "counts": counts.model_copy(update={"accepted": 39, "declined": 5}),
                }
            ),
            first.model_copy(
                update={
                    "invitee": tentative.model_copy(update={"response": Response.TENTATIVE}),
                    "counts": counts.model_copy(
                        update={"accepted": 39, "declined": 5, "tentative": 4, "pending": 11}
                    ),
                }
            ),
            first.model_copy(
                update={
                    "invitee": waiting.model_copy(
                        update={
                            "response": Response.ACCEPTED,
                            "waitlisted": True,
                            "waitlist_position": 1,
                        }
                    ),
                    "counts": counts.model_copy(
                        update={
                            "accepted": 39,
                            "declined": 5,
                            "tentative": 4,
                            "pending": 10,
                            "waitlisted": 1,
                        }
                    ),
                }
            ),
        ]

    def conference_concluded(self) -> ConferenceConcluded:
        return ConferenceConcluded(
            **self._conference(status=ConferenceStatus.CONCLUDED),
            summary=(
                "Rund 80 Vertreterinnen und Vertreter von Schulen, Schulträgern, Jugendhilfe und "
                "Betrieben haben über die Übergänge von der Schule in den Beruf beraten."
            ),
            recommendations=[
                Recommendation(
                    field_of_action_id="f-1",
                    field_of_action_title="Übergang Schule – Beruf",
                    text="Ein gemeinsamer Praktikumskalender aller weiterführenden Schulen.",
                )
            ],
            attendance=ResponseCounts(accepted=78, declined=9),
        )
