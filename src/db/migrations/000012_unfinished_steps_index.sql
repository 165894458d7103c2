-- The step queue of /health/status without a scan of the history.
--
-- The queue figures (ready, waiting for retry, waiting for parents, running, blocked) read only steps that
-- are not finished, but no index served that: at a million finished tasks the query walked every step
-- (about 200 ms a call, measured with the bench's status section). This partial index holds only the
-- unfinished steps, so it stays as small as the live work whatever the history; its entries come and go
-- with the state changes the dispatch already makes (those updates were never HOT: steps_ready's
-- predicate reads state too).
CREATE INDEX steps_unfinished ON :TASKER_SCHEMA.steps (task_id)
  WHERE state IN ('pending', 'waiting_for_retry', 'in_progress');
COMMENT ON INDEX :TASKER_SCHEMA.steps_unfinished IS
  'Unfinished steps only (pending, waiting_for_retry, in_progress): the step queue of the status paths reads '
  'these, whatever the size of the finished history.';
