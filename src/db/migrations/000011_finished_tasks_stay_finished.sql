-- A finished task is history. The original's state machine let a complete (or manually resolved) task be
-- cancelled, which rewrote a successful run as "cancelled" after the fact; cancelling a task in error
-- was refused only as an illegal transition. Now every finished task refuses cancellation with a
-- specific message (TKOP1: the operation does not apply in this state), and the state machine no longer
-- holds complete -> cancelled or resolved_manually -> cancelled.

DELETE FROM :TASKER_SCHEMA.task_state_transitions
WHERE to_state = 'cancelled' AND from_state IN ('complete', 'resolved_manually');

-- NOT VALID: audit rows an earlier version wrote (complete -> cancelled) stay as the history they are;
-- new rows are checked at once, without scanning the existing trail.
ALTER TABLE :TASKER_SCHEMA.task_transitions DROP CONSTRAINT task_transition_allowed;
ALTER TABLE :TASKER_SCHEMA.task_transitions ADD CONSTRAINT task_transition_allowed CHECK (
  (from_state || '>' || to_state) IN (
    'pending>in_progress', 'pending>cancelled', 'pending>error',
    'in_progress>complete', 'in_progress>error', 'in_progress>cancelled', 'in_progress>pending',
    'error>pending', 'error>resolved_manually')) NOT VALID;

CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.cancel_task(p_task_id bigint, p_reason text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_state text;
  v_changes jsonb;
BEGIN
  SELECT state INTO v_state FROM :TASKER_SCHEMA.tasks WHERE id = p_task_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'task % does not exist', p_task_id USING ERRCODE = 'TKNF1';
  END IF;
  IF v_state = 'cancelled' THEN
    RETURN v_state;
  END IF;
  IF v_state IN ('complete', 'resolved_manually') THEN
    RAISE EXCEPTION 'task % is % and cannot be cancelled: a finished task is history', p_task_id,
      replace(v_state, '_', ' ') USING ERRCODE = 'TKOP1';
  END IF;
  IF v_state = 'error' THEN
    RAISE EXCEPTION 'task % is in error and cannot be cancelled: nothing of it runs any more (retry it, or resolve its failed steps by hand)',
      p_task_id USING ERRCODE = 'TKOP1';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM :TASKER_SCHEMA.task_state_transitions WHERE from_state = v_state AND to_state = 'cancelled') THEN
    RAISE EXCEPTION 'task % is in state %, from which it cannot be cancelled', p_task_id, v_state USING ERRCODE = 'TKIL1';
  END IF;
  PERFORM :TASKER_SCHEMA._transition_task(p_task_id, 'cancelled',
    jsonb_build_object('reason', coalesce(p_reason, 'cancelled by request')));

  -- Steps waiting to run are cancelled; running ones are told (NOTIFY) and recorded when their worker
  -- reports. SKIP LOCKED: a step being claimed right now is left to run and be aborted.
  WITH c AS (
    SELECT id, state FROM :TASKER_SCHEMA.steps
    WHERE task_id = p_task_id AND state IN ('pending', 'waiting_for_retry')
    ORDER BY id FOR UPDATE SKIP LOCKED
  ), u AS (
    UPDATE :TASKER_SCHEMA.steps s
    SET state = 'cancelled', completed_at = now(), updated_at = now(), transition_count = s.transition_count + 1
    FROM c WHERE s.id = c.id
    RETURNING s.id, s.transition_count, c.state AS from_state
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT id, transition_count, from_state, 'cancelled', '{"reason": "task cancelled"}' FROM u
  )
  SELECT jsonb_agg(jsonb_build_array(id, p_task_id, 'cancelled')) INTO v_changes FROM u;
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);
  PERFORM pg_notify(':TASKER_CHANNEL:cancel', p_task_id::text);
  RETURN 'cancelled';
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.cancel_task(bigint, text) IS
  'Cancels a pending or running task: no new step starts, pending and waiting steps are cancelled, '
  'running handlers get their AbortSignal fired. Idempotent. A finished task (complete, resolved by '
  'hand, or in error) is refused with TKOP1. Returns the task''s state.';
