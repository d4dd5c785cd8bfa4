-- Data-sharing policies: the legal basis and agreement for each flow of data between organisations.
CREATE TABLE sharing_policies (
    policy_id        TEXT PRIMARY KEY,
    flow             TEXT        NOT NULL,
    from_org         TEXT        NOT NULL,  -- '*' = every organisation of the sending kind
    to_org           TEXT        NOT NULL,
    legal_basis      TEXT        NOT NULL,
    agreement_ref    TEXT        NOT NULL,
    purpose          TEXT        NOT NULL,
    data_categories  TEXT[]      NOT NULL,
    requires_consent BOOLEAN     NOT NULL DEFAULT false,
    valid_from       DATE        NOT NULL,
    valid_until      DATE,
    created_by       TEXT        NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE INDEX sharing_policies_flow ON sharing_policies (flow, to_org);

-- Consent per case and purpose, as a history: the latest record decides; a withdrawal is recorded, never deleted.
CREATE TABLE consents (
    id           BIGSERIAL PRIMARY KEY,
    case_id      TEXT        NOT NULL REFERENCES case_registry (case_id),
    purpose      TEXT        NOT NULL,
    given        BOOLEAN     NOT NULL,
    recorded_by  TEXT        NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    note         TEXT
);
CREATE INDEX consents_case ON consents (case_id, purpose, id);
