-- Operator actions: cancel a task, retry a task in error, resolve a step by hand. Each is idempotent
-- (asking twice changes nothing the second time) and refuses, with a specific error, what the state
-- machines do not allow. They follow the lock order of the dispatch migration: the task row first, then
-- its pending steps; the one step manual resolution targets is taken with NOWAIT (busy: refused).
--
-- Errors raised (SQLSTATE): TKNF1 no such task, TKNF2 no such step, TKIL1 the state machine forbids it,
-- TKOP1 the operation does not apply in this state, 55P03 the step is being worked on right now.

-- Internal: recomputes which pending steps are blocked below a failed step, and the task's counters.
CREATE FUNCTION :TASKER_SCHEMA._refresh_task_progress(p_task_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE :TASKER_SCHEMA.steps SET blocked = false WHERE task_id = p_task_id AND blocked;
  WITH RECURSIVE below (id) AS (
    SELECT c.id FROM :TASKER_SCHEMA.steps s CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
    WHERE s.task_id = p_task_id AND s.state = 'error'
    UNION
    SELECT c.id FROM below b
    JOIN :TASKER_SCHEMA.steps s ON s.id = b.id AND s.state = 'pending'
    CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
  )
  UPDATE :TASKER_SCHEMA.steps s SET blocked = true FROM below b WHERE s.id = b.id AND s.state = 'pending';

  UPDATE :TASKER_SCHEMA.tasks t SET
    unfinished_steps = (SELECT count(*) FROM :TASKER_SCHEMA.steps s WHERE s.task_id = t.id
      AND s.state IN ('pending', 'in_progress', 'waiting_for_retry') AND NOT s.blocked),
    failed_steps = (SELECT count(*) FROM :TASKER_SCHEMA.steps s WHERE s.task_id = t.id AND s.state = 'error'),
    updated_at = now()
  WHERE t.id = p_task_id;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._refresh_task_progress(bigint) IS
  'Internal: recomputes blocked steps and a task''s unfinished/failed counts (after retries and manual resolution).';

-- Internal: one task transition (the task row must be locked by the caller).
CREATE FUNCTION :TASKER_SCHEMA._transition_task(p_task_id bigint, p_to text, p_metadata jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_from text;
  v_sort integer;
BEGIN
  SELECT state INTO v_from FROM :TASKER_SCHEMA.tasks WHERE id = p_task_id;
  UPDATE :TASKER_SCHEMA.tasks
  SET state = p_to, updated_at = now(), transition_count = transition_count + 1,
    started_at = CASE WHEN p_to = 'in_progress' THEN coalesce(started_at, now()) ELSE started_at END,
    completed_at = CASE WHEN p_to IN ('complete', 'error', 'cancelled', 'resolved_manually') THEN now() END
  WHERE id = p_task_id
  RETURNING transition_count INTO v_sort;
  INSERT INTO :TASKER_SCHEMA.task_transitions (task_id, sort_key, from_state, to_state, metadata)
  VALUES (p_task_id, v_sort, v_from, p_to, p_metadata);
  PERFORM pg_notify(':TASKER_CHANNEL:task', jsonb_build_array(jsonb_build_array(p_task_id, p_to))::text);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._transition_task(bigint, text, jsonb) IS
  'Internal: moves a locked task to a new state and writes its audit row (the CHECK refuses illegal moves).';

CREATE FUNCTION :TASKER_SCHEMA.cancel_task(p_task_id bigint, p_reason text DEFAULT NULL) RETURNS text
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
  'Cancels a task: no new step starts, pending and waiting steps are cancelled, running handlers get '
  'their AbortSignal fired. Idempotent. Returns the task''s state.';

CREATE FUNCTION :TASKER_SCHEMA.retry_task(p_task_id bigint, p_reason text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_state text;
  v_failed integer;
  v_changes jsonb;
BEGIN
  SELECT state, failed_steps INTO v_state, v_failed FROM :TASKER_SCHEMA.tasks WHERE id = p_task_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'task % does not exist', p_task_id USING ERRCODE = 'TKNF1';
  END IF;
  IF v_state IN ('pending', 'in_progress') AND v_failed = 0 THEN
    RETURN v_state; -- already running again: nothing to retry
  END IF;
  IF v_state <> 'error' THEN
    RAISE EXCEPTION 'task % is in state %; only a task in error can be retried', p_task_id, v_state
      USING ERRCODE = 'TKOP1';
  END IF;

  -- Failed steps get a fresh set of attempts (attempts_base moves up; attempts keeps counting).
  WITH f AS (
    SELECT id FROM :TASKER_SCHEMA.steps WHERE task_id = p_task_id AND state = 'error' ORDER BY id FOR UPDATE
  ), u AS (
    UPDATE :TASKER_SCHEMA.steps s
    SET state = 'pending', attempts_base = s.attempts, run_at = now(), completed_at = NULL, updated_at = now(),
      transition_count = s.transition_count + 1
    FROM f WHERE s.id = f.id
    RETURNING s.id, s.transition_count
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT id, transition_count, 'error', 'pending',
      jsonb_build_object('reason', coalesce(p_reason, 'task retried'))
    FROM u
  )
  SELECT jsonb_agg(jsonb_build_array(id, p_task_id, 'pending')) INTO v_changes FROM u;

  PERFORM :TASKER_SCHEMA._refresh_task_progress(p_task_id);
  PERFORM :TASKER_SCHEMA._transition_task(p_task_id, 'pending',
    jsonb_build_object('reason', coalesce(p_reason, 'retry requested'), 'retried_steps', jsonb_array_length(v_changes)));
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  RETURN 'pending';
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.retry_task(bigint, text) IS
  'Retries a task in error: its failed steps go back to pending with a fresh set of attempts and the '
  'steps below them may run again. A task already running again is left as it is. Returns its state.';

CREATE FUNCTION :TASKER_SCHEMA.resolve_step(p_step_id bigint, p_results jsonb, p_reason text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_task_id bigint;
  v_task_state text;
  v_state text;
  v_sort integer;
  v_ready integer;
  v_unfinished integer;
  v_failed integer;
BEGIN
  SELECT task_id INTO v_task_id FROM :TASKER_SCHEMA.steps WHERE id = p_step_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'step % does not exist', p_step_id USING ERRCODE = 'TKNF2';
  END IF;
  SELECT state INTO v_task_state FROM :TASKER_SCHEMA.tasks WHERE id = v_task_id FOR UPDATE;
  SELECT state INTO v_state FROM :TASKER_SCHEMA.steps WHERE id = p_step_id FOR UPDATE NOWAIT;
  IF v_state = 'resolved_manually' THEN
    RETURN v_task_state;
  END IF;
  IF v_task_state IN ('cancelled', 'complete', 'resolved_manually') THEN
    RAISE EXCEPTION 'task % is in state %; its steps can no longer be resolved', v_task_id, v_task_state
      USING ERRCODE = 'TKOP1';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM :TASKER_SCHEMA.step_state_transitions WHERE from_state = v_state AND to_state = 'resolved_manually') THEN
    RAISE EXCEPTION 'step % is in state %, from which it cannot be resolved by hand%', p_step_id, v_state,
      CASE WHEN v_state = 'in_progress' THEN ' (it is running: wait for it, or cancel the task)' ELSE '' END
      USING ERRCODE = 'TKIL1';
  END IF;

  UPDATE :TASKER_SCHEMA.steps
  SET state = 'resolved_manually', results = coalesce(p_results, 'null'::jsonb), blocked = false,
    completed_at = now(), updated_at = now(), transition_count = transition_count + 1
  WHERE id = p_step_id
  RETURNING transition_count INTO v_sort;
  INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
  VALUES (p_step_id, v_sort, v_state, 'resolved_manually', jsonb_build_object('reason', coalesce(p_reason, 'resolved by hand')));
  PERFORM pg_notify(':TASKER_CHANNEL:step', jsonb_build_array(jsonb_build_array(p_step_id, v_task_id, 'resolved_manually'))::text);

  -- Its children have one parent fewer to wait for.
  WITH u AS (
    UPDATE :TASKER_SCHEMA.steps c
    SET pending_parents = c.pending_parents - 1,
      run_at = CASE WHEN c.pending_parents = 1 THEN now() ELSE c.run_at END, updated_at = now()
    WHERE c.id = ANY ((SELECT child_ids FROM :TASKER_SCHEMA.steps WHERE id = p_step_id)::bigint[])
    RETURNING c.pending_parents, c.state
  )
  SELECT count(*) FILTER (WHERE pending_parents = 0 AND state = 'pending') INTO v_ready FROM u;

  PERFORM :TASKER_SCHEMA._refresh_task_progress(v_task_id);
  SELECT unfinished_steps, failed_steps INTO v_unfinished, v_failed FROM :TASKER_SCHEMA.tasks WHERE id = v_task_id;

  IF v_task_state = 'error' THEN
    IF v_unfinished > 0 THEN
      PERFORM :TASKER_SCHEMA._transition_task(v_task_id, 'pending', '{"reason": "a step was resolved by hand; work remains"}');
    ELSIF v_failed = 0 THEN
      PERFORM :TASKER_SCHEMA._transition_task(v_task_id, 'resolved_manually', '{"reason": "every failed step was resolved by hand"}');
    END IF;
  ELSIF v_unfinished = 0 THEN
    PERFORM :TASKER_SCHEMA._finish_tasks(ARRAY[v_task_id]);
  END IF;
  IF v_ready > 0 THEN
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  END IF;
  RETURN (SELECT state FROM :TASKER_SCHEMA.tasks WHERE id = v_task_id);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.resolve_step(bigint, jsonb, text) IS
  'Resolves a step by hand with the given results: its children proceed as if it had completed. Allowed '
  'while the step is pending, waiting for retry or in error; a task in error re-opens when work remains. '
  'Idempotent. Returns the task''s state.';

CREATE FUNCTION :TASKER_SCHEMA.annotate_task(p_task_id bigint, p_type text, p_annotation jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_type_id integer;
  v_id bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM :TASKER_SCHEMA.tasks WHERE id = p_task_id) THEN
    RAISE EXCEPTION 'task % does not exist', p_task_id USING ERRCODE = 'TKNF1';
  END IF;
  INSERT INTO :TASKER_SCHEMA.annotation_types (name) VALUES (p_type) ON CONFLICT (name) DO NOTHING;
  SELECT id INTO v_type_id FROM :TASKER_SCHEMA.annotation_types WHERE name = p_type;
  INSERT INTO :TASKER_SCHEMA.task_annotations (task_id, annotation_type_id, annotation)
  VALUES (p_task_id, v_type_id, p_annotation) RETURNING id INTO v_id;
  RETURN v_id;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.annotate_task(bigint, text, jsonb) IS
  'Attaches a JSON annotation of a named type to a task; returns the annotation id.';
