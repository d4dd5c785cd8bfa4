"""The ``vangnet`` command line: one module per command group, gathered here.

Every command reports a configuration problem as one line on stderr and exits with status 1, never a traceback.
"""

from __future__ import annotations

import os
import warnings

import typer

from vangnet.cli import cases, data, dev, keys, policies, rehearsal, retention, rules, serving

app = typer.Typer(help="Vangnet: FBU and energy-arrears case engine on Temporal.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
for commands in (serving.commands, dev.commands, keys.commands, rehearsal.commands, data.commands):
    app.add_typer(commands)
app.add_typer(rules.rules_app, name="rules")
app.add_typer(data.projections_app, name="projections")
app.add_typer(policies.policies_app, name="policies")
app.add_typer(retention.retention_app, name="retention")
app.add_typer(cases.cases_app, name="cases")


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # platformdirs (through the embedded PostgreSQL) warns when XDG_RUNTIME_DIR is unset; it falls back safely.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    app()
