-- Every request Vangnet sent a netbeheerder (recorded once it was accepted), so a callback that never came can be
-- asked for (vangnet.services.callback_recovery). No personal data: the key, the case, the type, the times.
CREATE TABLE netbeheerder_requests (
    idempotency_key  TEXT        PRIMARY KEY,
    case_id          TEXT        NOT NULL,
    netbeheerder     TEXT        NOT NULL,
    type             TEXT        NOT NULL,
    sent_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    checks           INTEGER     NOT NULL DEFAULT 0,
    last_checked_at  TIMESTAMPTZ,
    last_problem     TEXT,
    answered_at      TIMESTAMPTZ,           -- its callback is stored (delivered or recovered)
    recovered_event_id TEXT                 -- set when the recovery fetched the callback itself
);
CREATE INDEX netbeheerder_requests_open ON netbeheerder_requests (sent_at) WHERE answered_at IS NULL;

-- How a stored callback came in: delivered by the netbeheerder, or fetched by the recovery.
ALTER TABLE netbeheerder_callbacks ADD COLUMN source TEXT NOT NULL DEFAULT 'delivered';
CREATE INDEX netbeheerder_callbacks_request_key ON netbeheerder_callbacks ((body ->> 'request_key'));
