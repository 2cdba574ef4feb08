"""What `./dev up` ends with (and `./dev sign-ins` prints again): the demo sign-ins a newcomer
copies, read from the realm overlay Keycloak imports, in an 80-column terminal."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.keycloak import OPS_CLIENT, demo_users, ops_secret

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_sign_ins_and_the_example_call_are_printed_within_80_columns() -> None:
    printed = subprocess.run(
        [str(REPO / "dev"), "sign-ins"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for user in demo_users().values():
        [line] = [row for row in printed.splitlines() if row.split()[:1] == [user.username]]
        assert user.password in line
    assert f"RBN_OPS_CLIENT_ID={OPS_CLIENT} RBN_OPS_CLIENT_SECRET={ops_secret()}" in printed
    assert 'curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8001/networks' in printed
    assert max(len(row) for row in printed.splitlines()) <= 80, printed
