-- Retry statistics for failure diagnostics (issue 12, part 2): how often a step that failed with a
-- fingerprint later succeeded, and at which attempt. A step keeps its last error after it succeeds, so the
-- steps that ever failed with a fingerprint are found by it; this index holds only steps that have an
-- error (most steps never fail and are not in it), keyed by the fingerprint.

CREATE INDEX steps_error_fingerprint ON :TASKER_SCHEMA.steps ((last_error ->> 'fingerprint'))
  WHERE last_error IS NOT NULL;
COMMENT ON INDEX :TASKER_SCHEMA.steps_error_fingerprint IS
  'Steps whose last attempt failure has a fingerprint: the retry statistics of a failure group.';
