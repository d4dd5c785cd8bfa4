-- The domain event log: the lasting legal record of every case. Appended only by workflow activities.
CREATE TABLE domain_events (
    position        BIGSERIAL PRIMARY KEY,
    event_id        TEXT        NOT NULL UNIQUE,
    stream          TEXT        NOT NULL,
    stream_version  INTEGER     NOT NULL CHECK (stream_version >= 1),
    case_id         TEXT        NOT NULL,
    case_kind       TEXT        NOT NULL CHECK (case_kind IN ('fbu', 'energy')),
    ocmw_id         TEXT        NOT NULL,
    type            TEXT        NOT NULL,
    data            JSONB       NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (stream, stream_version)
);
CREATE INDEX domain_events_case ON domain_events (case_id, position);

-- Which organisation owns which case: written by the API in the same transaction that starts the workflow,
-- so ownership checks never race the first event.
CREATE TABLE case_registry (
    case_id     TEXT PRIMARY KEY,
    kind        TEXT        NOT NULL CHECK (kind IN ('fbu', 'energy')),
    ocmw_id     TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX case_registry_ocmw ON case_registry (ocmw_id, created_at);

-- Personal data of the parties, kept out of Temporal and out of the event log.
CREATE TABLE fbu_parties (
    case_id          TEXT PRIMARY KEY REFERENCES case_registry (case_id),
    tenant           JSONB NOT NULL,
    landlord         JSONB NOT NULL,
    dwelling_address TEXT  NOT NULL
);

CREATE TABLE projection_checkpoints (
    projector TEXT PRIMARY KEY,
    position  BIGINT NOT NULL
);

CREATE TABLE proj_fbu_cases (
    case_id            TEXT PRIMARY KEY,
    ocmw_id            TEXT          NOT NULL,
    status             TEXT          NOT NULL,
    closing_reason     TEXT,
    rule_set_id        TEXT,
    market             TEXT          NOT NULL,
    municipality_nis   TEXT          NOT NULL,
    arrears_amount     NUMERIC(12,2) NOT NULL,
    opened_on          DATE          NOT NULL,
    agreement_version  INTEGER       NOT NULL DEFAULT 0,
    in_force_on        DATE,
    plan_total         NUMERIC(12,2) NOT NULL DEFAULT 0,
    repaid_total       NUMERIC(12,2) NOT NULL DEFAULT 0,
    paid_total         NUMERIC(12,2) NOT NULL DEFAULT 0,
    updated_at         TIMESTAMPTZ   NOT NULL
);
CREATE INDEX proj_fbu_cases_ocmw ON proj_fbu_cases (ocmw_id, status, opened_on);

CREATE TABLE proj_claims (
    claim_id            TEXT PRIMARY KEY,
    case_id             TEXT          NOT NULL,
    ocmw_id             TEXT          NOT NULL,
    claim_kind          TEXT          NOT NULL,
    status              TEXT          NOT NULL,
    payouts             JSONB         NOT NULL,
    amount              NUMERIC(12,2) NOT NULL,
    rule_set_id         TEXT          NOT NULL,
    arrears_amount      NUMERIC(12,2) NOT NULL,
    agreement_version   INTEGER       NOT NULL,
    agreement_in_force_on DATE,
    submitted_on        DATE          NOT NULL,
    attempt             INTEGER       NOT NULL,
    decided_on          DATE,
    decision_reason     TEXT,
    payment_id          TEXT,
    updated_at          TIMESTAMPTZ   NOT NULL
);
CREATE INDEX proj_claims_status ON proj_claims (status, submitted_on);

CREATE TABLE proj_payout_totals (
    ocmw_id     TEXT          NOT NULL,
    rule_set_id TEXT          NOT NULL,
    kind        TEXT          NOT NULL,
    count       INTEGER       NOT NULL,
    amount      NUMERIC(14,2) NOT NULL,
    PRIMARY KEY (ocmw_id, rule_set_id, kind)
);
