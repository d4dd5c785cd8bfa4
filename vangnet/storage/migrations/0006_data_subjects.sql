-- Every data subject with the case and party it belongs to: what retention and erasure work through.
CREATE VIEW data_subjects AS
    SELECT s.subject_id, s.party, r.case_id, r.kind AS case_kind, r.ocmw_id, k.erased_at
    FROM (SELECT case_id, tenant_subject AS subject_id, 'tenant' AS party FROM fbu_parties
          UNION ALL SELECT case_id, landlord_subject, 'landlord' FROM fbu_parties
          UNION ALL SELECT case_id, subject_id, 'household' FROM energy_households) s
    JOIN case_registry r ON r.case_id = s.case_id
    JOIN subject_keys k ON k.subject_id = s.subject_id;

-- The closing day of every closed case (the day its retention period starts to run).
CREATE INDEX domain_events_closed ON domain_events (case_id) WHERE type = 'CaseClosed';
