"""Fixtures of the tests that drive ``vangnet dev`` as a subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.helpers import sigint_not_ignored


@pytest.fixture
def ctrl_c_reaches_children() -> Iterator[None]:
    """For the tests that stop a ``vangnet dev`` with Ctrl-C (see ``sigint_not_ignored``)."""
    with sigint_not_ignored():
        yield
