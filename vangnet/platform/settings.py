"""Runtime settings, read from the environment (prefix ``VANGNET_``) or a ``.env`` file.

When no Temporal address or database URL is set, ``vangnet dev`` starts the embedded ones under ``var_dir``;
when they are set, nothing embedded starts and the same code runs against a cluster and a managed database.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_TEMPORAL_SQLITE_PRAGMAS = ("journal_mode=wal",)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VANGNET_", env_file=".env", extra="ignore")

    var_dir: Path = Field(Path("var"), description="Where the embedded servers keep their state.")

    # Temporal
    temporal_address: str | None = Field(None, description="host:port of a Temporal frontend; unset = embedded.")
    temporal_namespace: str = "default"
    temporal_task_queue: str = "vangnet"
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = Field(None, description="CA bundle of a self-hosted cluster's frontend (mTLS).")
    temporal_tls_server_name: str | None = Field(None, description="Name in the frontend's certificate, if not "
                                                 "the address's host.")
    temporal_api_key: SecretStr | None = None
    embedded_temporal_port: int = 7233
    embedded_temporal_ui_port: int = 8233
    embedded_temporal_sqlite_pragmas: list[str] = Field(
        default_factory=lambda: list(EMBEDDED_TEMPORAL_SQLITE_PRAGMAS),
        description="SQLite pragmas of the embedded Temporal server's database file, as JSON (docs/performance.md).")
    temporal_ui_origins: list[str] = Field(
        default_factory=list, description="Origins of the Temporal Web UI allowed to call the codec endpoint with "
        "its login cookie, as JSON; empty = the embedded UI (http://127.0.0.1:PORT and http://localhost:PORT).")

    # PostgreSQL
    database_url: str | None = Field(None, description="PostgreSQL DSN; unset = embedded server in var/pg.")
    database_pool_min: int = 1
    database_pool_max: int = 10

    # HTTP
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_max_body_bytes: int = Field(256 * 1024, description="Larger request bodies get 413.")
    api_writes_per_minute: int = Field(600, description="Writes per bearer token per minute (per API process).")
    worker_metrics_port: int = Field(9464, description="Temporal SDK Prometheus endpoint on the worker; 0 = off.")
    worker_metrics_host: str = Field("127.0.0.1", description="Bind address of that endpoint (0.0.0.0 in a "
                                     "container, so Prometheus can scrape it).")

    # `vangnet dev` restarts a component that dies; it gives up after this many deaths within the window.
    dev_restart_budget: int = Field(5, ge=0, description="Restarts allowed per component within the window.")
    dev_restart_window_seconds: float = Field(60.0, gt=0, description="The window of the restart budget.")
    dev_workers: int = Field(2, ge=1, le=16, description="Worker processes `vangnet dev` runs, as production runs "
                             "replicas: a case's steps and opens spread over them (docs/performance.md).")
    supervisor_status_file: Path | None = Field(None, description="Set by `vangnet dev` for its children: the "
                                                "supervisor's component states, which /healthz reports.")

    # Orphan case workflows (started by an opening that was never committed) are ended by a reconciler that runs
    # when a worker starts and on a Temporal Schedule.
    reconcile_every_minutes: int = Field(10, ge=1, description="How often the reconciler's Schedule runs.")
    reconcile_grace_seconds: int = Field(300, ge=0, description="A case workflow without its case row for longer "
                                         "than this is an orphan (an opening commits within seconds).")
    # A callback the netbeheerder never delivered is asked for: requests unanswered for longer than the overdue
    # delay, sent within the lookback, are looked up at the netbeheerder by a Schedule that runs this often.
    callback_overdue_seconds: int = Field(900, ge=1, description="A request whose callback has not come after "
                                          "this long is looked up at the netbeheerder.")
    callback_recovery_every_seconds: int = Field(300, ge=1, description="How often the callback recovery runs.")
    callback_recovery_lookback_hours: int = Field(24 * 14, ge=1, description="Requests sent longer ago than this "
                                                  "are no longer looked up (an operator follows them up).")

    # Worker tuning (defaults chosen from `make bench` on a 2-core machine, see docs/performance.md)
    worker_max_concurrent_workflow_tasks: int = Field(100, ge=1, description="Workflow tasks run at once.")
    worker_max_concurrent_activities: int = Field(50, ge=1, description="Activity tasks (HTTP calls) run at once.")
    worker_max_concurrent_local_activities: int = Field(100, ge=1, description="Local activities (log appends).")
    worker_workflow_task_pollers: int = Field(5, ge=2, description="Long polls for workflow tasks (2 at least: "
                                              "sticky and normal queue).")
    worker_activity_task_pollers: int = Field(5, ge=1, description="Long polls for activity tasks.")
    worker_max_cached_workflows: int = Field(1000, ge=1, description="Sticky cache: workflows kept in memory "
                                             "between tasks (at least 1: the case workflows' local activities "
                                             "would be re-run on every eviction).")

    # Identity: the embedded issuer signs with a key under var/keys; production sets an issuer and its JWKS URL.
    token_issuer: str = "http://127.0.0.1:8000/idp"  # noqa: S105 - a URL, not a secret
    token_audience: str = "vangnet"  # noqa: S105 - a name, not a secret
    token_ttl_seconds: int = 8 * 3600
    token_private_key_file: Path | None = None
    token_jwks_url: str | None = None

    # Encryption of Temporal payloads (AES-256-GCM); unset = a key file under var/keys for the embedded default.
    payload_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description='{"key-id": "base64 32-byte key", ...}; keep old keys to read old payloads.')
    payload_active_key: str | None = Field(None, description="The key id that encrypts new payloads.")

    # Master keys that wrap each data subject's key (personal data at rest); unset = var/keys for the embedded default.
    master_keys: dict[str, SecretStr] = Field(default_factory=dict, description='{"id": "base64 32-byte key"}')
    master_active_key: str | None = None

    # Rules: operator-maintained data files (default: the packaged rule sets)
    fbu_rules_file: Path | None = None
    retention_rules_file: Path | None = Field(None, description="How long personal data is kept after a case closes.")
    retention_schedule: bool = Field(True, description="The worker keeps the daily retention Schedule in Temporal.")
    retention_cron: str = Field("30 3 * * *", description="When the retention job runs (cron, Europe/Brussels).")

    # External systems
    payment_system_url: str = "http://127.0.0.1:8101"
    payment_sim_port: int = 8101
    netbeheerder_urls: dict[str, str] = Field(
        default_factory=lambda: {"fluvius": "http://127.0.0.1:8102"},
        description="Base URL per netbeheerder id, as JSON.")
    netbeheerder_secrets: dict[str, list[SecretStr]] = Field(
        default_factory=lambda: {"fluvius": [SecretStr("dev-secret-fluvius")]},
        description="Callback signing secrets per netbeheerder, as JSON; two during a rotation.")
    netbeheerder_sim_port: int = 8102
    public_url: str = Field("http://127.0.0.1:8000", description="Where netbeheerders reach Vangnet's callbacks.")
    energy_rules_file: Path | None = None
    ocmw_names_file: Path | None = None

    # Reports: small-cell protection of the auditor's cross-organisation aggregates (⚑ 5 is Vangnet's assumption)
    report_min_cell: int = Field(
        5, ge=1, description="In the auditor's reports, non-zero counts below this are hidden; 1 = hide nothing.")

    log_format: str = Field("json", description="json | console")
    log_level: str = "info"

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.embedded_temporal_port}"

    @property
    def codec_origins(self) -> list[str]:
        port = self.embedded_temporal_ui_port
        return self.temporal_ui_origins or [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]

    @property
    def key_file(self) -> Path:
        return self.token_private_key_file or self.var_dir / "keys" / "issuer.pem"


@lru_cache
def get_settings() -> Settings:
    return Settings()
