"""The recipients projection's documents: any id an event carries can be stored and read back."""

from __future__ import annotations

import bson

from notifications.adapters.documents import network_from_document, network_to_document
from notifications.domain.recipients import Contact, NetworkDirectory


def test_people_with_ids_no_key_name_may_hold_are_stored_and_read_back() -> None:
    ids = ["m\x00nul", "$start", "a.b", "mem-1"]
    network = NetworkDirectory("bochum", "Bochum")
    for n, person_id in enumerate(ids):
        network = network.with_member(person_id, Contact(f"p{n}@schule.example", f"Person {n}", 1))
    document = network_to_document(network)
    encoded = bson.encode(document)  # what the driver sends; a NUL in a key name is refused here
    assert network_from_document(bson.decode(encoded)).committee == network.committee
    assert set(network.committee) == set(ids)


def test_documents_written_before_as_a_map_by_id_are_still_read() -> None:
    earlier = {
        "_id": "bochum",
        "name": "Bochum",
        "office": None,
        "committee": {"mem-1": {"email": "p@schule.example", "name": "P", "version": 2}},
        "staff": {},
        "network_version": 3,
    }
    network = network_from_document(earlier)
    assert network.committee == {"mem-1": Contact("p@schule.example", "P", 2)}
    assert network.version == 3
