-- Who read whose personal data, when, for which purpose and which fields. Append-only: rows cannot change.
CREATE TABLE access_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    subject     TEXT        NOT NULL,
    role        TEXT        NOT NULL,
    org         TEXT,
    case_id     TEXT        NOT NULL,
    purpose     TEXT        NOT NULL,
    fields      TEXT[]      NOT NULL,
    route       TEXT        NOT NULL
);
CREATE INDEX access_log_case ON access_log (case_id, at);

CREATE FUNCTION access_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_log is append-only';
END;
$$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_is_append_only();
