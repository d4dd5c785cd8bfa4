-- Envelope encryption of personal data: one data key per data subject, wrapped by a master key.
-- Erasing a subject deletes its data key: the sealed data stays but can never be read again (crypto-shredding).
CREATE TABLE subject_keys (
    subject_id   TEXT PRIMARY KEY,
    master_key   TEXT        NOT NULL,
    wrapped_key  BYTEA,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    erased_at    TIMESTAMPTZ,
    CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
);

ALTER TABLE fbu_parties
    ALTER COLUMN tenant DROP NOT NULL,
    ALTER COLUMN landlord DROP NOT NULL,
    ALTER COLUMN dwelling_address DROP NOT NULL,
    ADD COLUMN tenant_subject TEXT REFERENCES subject_keys (subject_id),
    ADD COLUMN landlord_subject TEXT REFERENCES subject_keys (subject_id),
    ADD COLUMN tenant_sealed BYTEA,
    ADD COLUMN landlord_sealed BYTEA;

ALTER TABLE energy_households
    ALTER COLUMN name DROP NOT NULL,
    ALTER COLUMN national_number DROP NOT NULL,
    ALTER COLUMN address DROP NOT NULL,
    ADD COLUMN subject_id TEXT REFERENCES subject_keys (subject_id),
    ADD COLUMN sealed BYTEA;
