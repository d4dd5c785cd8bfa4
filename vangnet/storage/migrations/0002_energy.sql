-- Energy-arrears cases: one per connection point (EAN) and energy while open.
CREATE TABLE energy_cases (
    case_id       TEXT PRIMARY KEY REFERENCES case_registry (case_id),
    ean           TEXT NOT NULL,
    energy        TEXT NOT NULL CHECK (energy IN ('electricity', 'gas')),
    netbeheerder  TEXT NOT NULL
);
CREATE INDEX energy_cases_ean ON energy_cases (ean, energy);

-- Personal data of the household, kept out of Temporal and out of the event log.
CREATE TABLE energy_households (
    case_id          TEXT PRIMARY KEY REFERENCES case_registry (case_id),
    name             TEXT NOT NULL,
    national_number  TEXT NOT NULL,
    address          TEXT NOT NULL
);

-- Every signed netbeheerder callback, stored before it is acknowledged; event_id makes repeats harmless.
CREATE TABLE netbeheerder_callbacks (
    event_id      TEXT PRIMARY KEY,
    netbeheerder  TEXT        NOT NULL,
    type          TEXT        NOT NULL,
    ean           TEXT        NOT NULL,
    energy        TEXT        NOT NULL,
    body          JSONB       NOT NULL,
    case_id       TEXT,
    signal_id     TEXT,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    forwarded_at  TIMESTAMPTZ
);
CREATE INDEX netbeheerder_callbacks_pending ON netbeheerder_callbacks (received_at) WHERE forwarded_at IS NULL
    AND case_id IS NOT NULL;

-- Minimal outreach signals for an OCMW: a payment problem of a household that has no case (no personal data).
CREATE TABLE ocmw_signals (
    signal_id         TEXT PRIMARY KEY,
    ocmw_id           TEXT        NOT NULL,
    municipality_nis  TEXT        NOT NULL,
    kind              TEXT        NOT NULL,
    energy            TEXT        NOT NULL,
    netbeheerder      TEXT        NOT NULL,
    source_event_id   TEXT        NOT NULL UNIQUE,
    received_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ocmw_signals_ocmw ON ocmw_signals (ocmw_id, received_at);

CREATE TABLE proj_energy_cases (
    case_id            TEXT PRIMARY KEY,
    ocmw_id            TEXT          NOT NULL,
    netbeheerder       TEXT          NOT NULL,
    energy             TEXT          NOT NULL,
    phase              TEXT          NOT NULL,
    closing_reason     TEXT,
    rule_set_id        TEXT          NOT NULL,
    notice_of_default_on DATE        NOT NULL,
    total_debt         NUMERIC(12,2),
    prepayment_active  BOOLEAN       NOT NULL DEFAULT false,
    minimal_supply     TEXT,
    updated_at         TIMESTAMPTZ   NOT NULL
);
CREATE INDEX proj_energy_cases_ocmw ON proj_energy_cases (ocmw_id, phase);
CREATE INDEX proj_energy_cases_netbeheerder ON proj_energy_cases (netbeheerder, phase);
