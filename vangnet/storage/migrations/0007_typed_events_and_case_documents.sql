-- Each event body's schema version: old versions stay in the log as written and are upcast on read.
ALTER TABLE domain_events ADD COLUMN schema_version SMALLINT NOT NULL DEFAULT 1 CHECK (schema_version >= 1);

-- The case document behind every case page (FBU and energy), folded from the log: GETs never ask Temporal.
CREATE TABLE proj_case_documents (
    case_id     TEXT PRIMARY KEY,
    kind        TEXT        NOT NULL CHECK (kind IN ('fbu', 'energy')),
    ocmw_id     TEXT        NOT NULL,
    document    JSONB       NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- The new read model starts empty: replay the whole log into every read model at the next catch-up.
TRUNCATE proj_fbu_cases, proj_claims, proj_payout_totals, proj_energy_cases;
DELETE FROM projection_checkpoints;
