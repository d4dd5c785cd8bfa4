"""Schemathesis hooks (``SCHEMATHESIS_HOOKS``): values for the formats the OpenAPI document names whose check
digits no pattern can say (``iban``, ``be-national-number``, ``ean18``), so schema-valid requests are valid."""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

from schemas.identifiers import validate_ean18


def _ean(body: str) -> str:
    """An 18-digit EAN with its GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


schemathesis.openapi.format("iban", st.sampled_from(["BE71 0961 2345 6769", "BE68539007547034",
                                                     "NL91ABNA0417164300"]))
schemathesis.openapi.format("be-national-number", st.sampled_from(["85.07.30-033.28", "85073003328"]))
schemathesis.openapi.format("ean18", st.integers(0, 10**10 - 1).map(lambda n: _ean(f"5414488{n:010d}")).filter(
    lambda code: validate_ean18(code) == code))
