"""The one data converter used by the API, the worker, the replayer and the CLI.

Pydantic models travel as JSON; failures keep their attributes encoded so that a message can never leak data
into the history once a payload codec is configured.
"""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes


def data_converter() -> DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
