-- Operator edits used by the HTTP API: change a task's reason and tags, change a step's retry limit and
-- inputs, cancel one step, retry one failed step. Like the operations of migration 3 they lock the task
-- row first and then the step (NOWAIT: a step being claimed right now is refused, not waited for), keep
-- the state machines' rules (the transition tables' CHECKs refuse anything else) and publish their
-- changes on the task and step channels.
--
-- Errors raised (SQLSTATE): TKNF1 no such task, TKNF2 no such step, TKIL1 the state machine forbids it,
-- TKOP1 the operation does not apply in this state, 55P03 the step is being worked on right now.

CREATE FUNCTION :TASKER_SCHEMA.update_task(p_task_id bigint, p_set_reason boolean, p_reason text, p_tags text[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE :TASKER_SCHEMA.tasks
  SET reason = CASE WHEN p_set_reason THEN p_reason ELSE reason END,
    tags = coalesce(p_tags, tags), updated_at = now()
  WHERE id = p_task_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'task % does not exist', p_task_id USING ERRCODE = 'TKNF1';
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.update_task(bigint, boolean, text, text[]) IS
  'Sets a task''s reason (when p_set_reason; NULL clears it) and/or tags (when p_tags is not NULL). Any state.';

-- Internal: locks a step's task and then the step itself; returns the step's state and task.
CREATE FUNCTION :TASKER_SCHEMA._lock_step(p_step_id bigint, OUT o_task_id bigint, OUT o_task_state text,
  OUT o_state text)
LANGUAGE plpgsql AS $$
BEGIN
  SELECT task_id INTO o_task_id FROM :TASKER_SCHEMA.steps WHERE id = p_step_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'step % does not exist', p_step_id USING ERRCODE = 'TKNF2';
  END IF;
  SELECT state INTO o_task_state FROM :TASKER_SCHEMA.tasks WHERE id = o_task_id FOR UPDATE;
  SELECT state INTO o_state FROM :TASKER_SCHEMA.steps WHERE id = p_step_id FOR UPDATE NOWAIT;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._lock_step(bigint) IS
  'Internal: locks a step''s task row, then the step (NOWAIT); returns task id, task state and step state.';

CREATE FUNCTION :TASKER_SCHEMA.update_step(p_step_id bigint, p_retry_limit integer, p_set_inputs boolean,
  p_inputs jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v record;
BEGIN
  SELECT * INTO v FROM :TASKER_SCHEMA._lock_step(p_step_id);
  IF v.o_state NOT IN ('pending', 'waiting_for_retry', 'error') THEN
    RAISE EXCEPTION 'step % is in state %; only a step that is pending, waiting for retry or in error can be changed',
      p_step_id, v.o_state USING ERRCODE = 'TKOP1';
  END IF;
  UPDATE :TASKER_SCHEMA.steps
  SET retry_limit = coalesce(p_retry_limit, retry_limit),
    inputs = CASE WHEN p_set_inputs THEN p_inputs ELSE inputs END,
    updated_at = now()
  WHERE id = p_step_id;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.update_step(bigint, integer, boolean, jsonb) IS
  'Changes a step''s retry limit and/or inputs while it is not running (pending, waiting for retry or in '
  'error). A new retry limit applies to the attempts made since the last retry.';

CREATE FUNCTION :TASKER_SCHEMA.cancel_step(p_step_id bigint, p_reason text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v record;
  v_changes jsonb;
BEGIN
  SELECT * INTO v FROM :TASKER_SCHEMA._lock_step(p_step_id);
  IF v.o_state = 'cancelled' THEN
    RETURN;
  END IF;
  IF v.o_task_state NOT IN ('pending', 'in_progress') THEN
    RAISE EXCEPTION 'task % is in state %; its steps can no longer be cancelled', v.o_task_id, v.o_task_state
      USING ERRCODE = 'TKOP1';
  END IF;
  IF v.o_state NOT IN ('pending', 'waiting_for_retry') THEN
    RAISE EXCEPTION 'step % is in state %; only a pending or waiting step can be cancelled%', p_step_id, v.o_state,
      CASE WHEN v.o_state = 'in_progress' THEN ' (it is running: cancel the task to abort it)' ELSE '' END
      USING ERRCODE = 'TKOP1';
  END IF;

  -- The step and every pending step below it (they could never run) are cancelled.
  WITH RECURSIVE below (id) AS (
    SELECT p_step_id
    UNION
    SELECT c.id FROM below b
    JOIN :TASKER_SCHEMA.steps s ON s.id = b.id
    CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
  ), c AS (
    SELECT s.id, s.state FROM :TASKER_SCHEMA.steps s JOIN below b ON b.id = s.id
    WHERE s.state IN ('pending', 'waiting_for_retry') ORDER BY s.id FOR UPDATE
  ), u AS (
    UPDATE :TASKER_SCHEMA.steps s
    SET state = 'cancelled', completed_at = now(), updated_at = now(), transition_count = s.transition_count + 1
    FROM c WHERE s.id = c.id
    RETURNING s.id, s.transition_count, c.state AS from_state
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT id, transition_count, from_state, 'cancelled',
      jsonb_build_object('reason', CASE WHEN id = p_step_id THEN coalesce(p_reason, 'cancelled by request')
        ELSE 'a step above it was cancelled' END)
    FROM u
  )
  SELECT jsonb_agg(jsonb_build_array(id, v.o_task_id, 'cancelled')) INTO v_changes FROM u;

  PERFORM :TASKER_SCHEMA._refresh_task_progress(v.o_task_id);
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);
  -- With nothing left to run the task finishes now (complete, or error when other steps failed).
  PERFORM :TASKER_SCHEMA._finish_tasks(ARRAY[v.o_task_id])
  FROM :TASKER_SCHEMA.tasks WHERE id = v.o_task_id AND unfinished_steps = 0;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.cancel_step(bigint, text) IS
  'Cancels a pending or waiting step and the pending steps below it (they could never run). A running '
  'step is refused (cancel the task to abort it). The task finishes when nothing is left to run. Idempotent.';

CREATE FUNCTION :TASKER_SCHEMA.retry_step(p_step_id bigint, p_reason text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v record;
  v_sort integer;
BEGIN
  SELECT * INTO v FROM :TASKER_SCHEMA._lock_step(p_step_id);
  IF v.o_state <> 'error' THEN
    RAISE EXCEPTION 'step % is in state %; only a step in error can be retried', p_step_id, v.o_state
      USING ERRCODE = 'TKOP1';
  END IF;
  IF v.o_task_state NOT IN ('pending', 'in_progress', 'error') THEN
    RAISE EXCEPTION 'task % is in state %; its steps can no longer be retried', v.o_task_id, v.o_task_state
      USING ERRCODE = 'TKOP1';
  END IF;
  -- A fresh set of attempts (attempts_base moves up; attempts keeps counting), as retry_task does.
  UPDATE :TASKER_SCHEMA.steps
  SET state = 'pending', attempts_base = attempts, run_at = now(), completed_at = NULL, updated_at = now(),
    transition_count = transition_count + 1
  WHERE id = p_step_id
  RETURNING transition_count INTO v_sort;
  INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
  VALUES (p_step_id, v_sort, 'error', 'pending', jsonb_build_object('reason', coalesce(p_reason, 'step retried')));
  PERFORM :TASKER_SCHEMA._refresh_task_progress(v.o_task_id);
  IF v.o_task_state = 'error' THEN
    PERFORM :TASKER_SCHEMA._transition_task(v.o_task_id, 'pending',
      jsonb_build_object('reason', coalesce(p_reason, 'a step was retried')));
  END IF;
  PERFORM pg_notify(':TASKER_CHANNEL:step', jsonb_build_array(jsonb_build_array(p_step_id, v.o_task_id, 'pending'))::text);
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.retry_step(bigint, text) IS
  'Retries one step in error with a fresh set of attempts; the steps below it are unblocked and a task in '
  'error goes back to pending.';
