"""Fixtures: a running fake Pulse API holding a US and a GB version, and clients of it that are
closed after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.credentials import Credentials
from pulse_client import PulseClient
from pulse_client_fake_api import (
    FAST_RETRY,
    IDENTITIES,
    KEY_ID,
    KEY_SECRET,
    ClientFactory,
    FakePulseApi,
    make_version,
)


@pytest.fixture
def api() -> Iterator[FakePulseApi]:
    with FakePulseApi(IDENTITIES) as fake:
        fake.publish(make_version("US", 1))
        fake.publish(make_version("GB", 1))
        fake.offer("US", "pets", ("camp-2", "Chewy", 5), ("camp-1", "Purina", 9))
        fake.offer("US", "food", ("camp-3", "Heinz", 1))
        yield fake


@pytest.fixture
def make_client(api: FakePulseApi) -> Iterator[ClientFactory]:
    """PulseClient(api.base_url, ...) with the test credentials and fast retries; any argument of
    PulseClient may be given to override them."""
    made: list[PulseClient] = []

    def make(**overrides: Any) -> PulseClient:
        arguments: dict[str, Any] = {
            "region": "us-east-1",
            "credentials": Credentials(KEY_ID, KEY_SECRET),
            "retry": FAST_RETRY,
            "refresh_retry": FAST_RETRY,
            **overrides,
        }
        client = PulseClient(arguments.pop("base_url", api.base_url), **arguments)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
