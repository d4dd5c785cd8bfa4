"""Recording histories for tests/workflows/test_replay.py: a test that runs a new code path keeps the history of its
workflow when ``VANGNET_RECORD_HISTORIES`` names a directory (``tests/histories/<name>`` when committing them)."""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import Client


async def keep_history(client: Client, workflow_id: str, file_stem: str, run_id: str | None = None) -> None:
    """Fetch the history of ``workflow_id`` (one run of it with ``run_id``) and write it as ``file_stem``.json, only
    when recording; otherwise nothing is fetched."""
    record = os.environ.get("VANGNET_RECORD_HISTORIES")
    if not record:
        return
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    Path(record).mkdir(parents=True, exist_ok=True)
    (Path(record) / f"{file_stem}.json").write_text(history.to_json())
