-- Failure diagnostics (issue 12): every failed attempt's error carries a category and a fingerprint
-- (set by the worker, src/diagnostics/), kept in steps.last_error and in the audit trail. The dead-letter
-- view groups the steps that failed for good by fingerprint; this index holds only those steps, so the
-- view reads what failed, not the history of everything that succeeded.

CREATE INDEX steps_failed ON :TASKER_SCHEMA.steps (completed_at DESC, id)
  WHERE state = 'error';
COMMENT ON INDEX :TASKER_SCHEMA.steps_failed IS
  'Steps that failed for good, newest first: the dead-letter view (failure groups) and its drill-down.';
