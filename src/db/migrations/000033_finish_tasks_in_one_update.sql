-- Recording outcomes wrote each finishing task twice: step 6 of _record_outcomes (migration 2) took one
-- from unfinished_steps, then _finish_tasks updated the same row again to complete or error. Every update
-- of tasks changes an indexed column (state), so each made a new row version with new entries in the
-- table's indexes, and each statement ran the state counters' trigger over its rows. A task whose last
-- step this is now finishes in the step-6 UPDATE itself, with the same audit row, the same notification
-- and the same triggers (tasks_release_key, tasks_wake_parent and tasks_start_compensation fire on the
-- change of state as before); a task never seen started still goes through _finish_tasks. A single-step
-- task now has two row versions of tasks written in its life after creation instead of three.
-- Measured in one sitting (20,000 single-step tasks created, then drained by two worker processes of
-- concurrency 50; four interleaved pairs, this change first in each): 8,414 / 7,228 / 8,223 / 7,198 ->
-- 8,922 / 8,524 / 8,676 / 8,025 tasks/s.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA._record_outcomes(
  p_outcomes jsonb, p_worker_id uuid,
  OUT refused bigint[], OUT ready bigint[], OUT retrying jsonb, OUT finished jsonb
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
AS $$
#variable_conflict use_column
DECLARE
  v_held bigint[];
  v_completed bigint[];
  v_failed bigint[];
  v_blocked_tasks bigint[];
  v_finishing bigint[];
  v_changes jsonb;
  v_more jsonb;
BEGIN
  -- 1. The steps still held under the lease each outcome names, locked in id order.
  SELECT array_agg(h.id ORDER BY h.id) INTO v_held FROM (
    SELECT s.id FROM :TASKER_SCHEMA.steps s
    JOIN jsonb_to_recordset(p_outcomes) AS o (step_id bigint, attempt integer, worker_id uuid)
      ON o.step_id = s.id AND o.attempt = s.attempts
    WHERE s.state = 'in_progress' AND s.worker_id = coalesce(p_worker_id, o.worker_id)
    ORDER BY s.id FOR UPDATE OF s
  ) h;
  SELECT array_agg(o.step_id) INTO refused
  FROM jsonb_to_recordset(p_outcomes) AS o (step_id bigint)
  WHERE v_held IS NULL OR NOT o.step_id = ANY (v_held);
  IF v_held IS NULL THEN
    RETURN;
  END IF;

  -- 2. Their tasks, in id order.
  PERFORM 1 FROM :TASKER_SCHEMA.tasks t
  WHERE t.id IN (SELECT s.task_id FROM :TASKER_SCHEMA.steps s WHERE s.id = ANY (v_held))
  ORDER BY t.id FOR UPDATE OF t;

  -- 3. The outcomes.
  WITH o AS (
    SELECT * FROM jsonb_to_recordset(p_outcomes)
      AS o (step_id bigint, ok boolean, results jsonb, error jsonb, permanent boolean, retry_delay_ms integer)
  ), d AS (
    SELECT s.id, o.ok, o.results, o.error, o.retry_delay_ms,
      CASE WHEN o.ok THEN 'complete'
        WHEN t.state = 'cancelled' THEN 'cancelled'
        WHEN NOT coalesce(o.permanent, false) AND s.retryable AND s.attempts - s.attempts_base < s.retry_limit
          THEN 'waiting_for_retry'
        ELSE 'error' END AS to_state
    FROM :TASKER_SCHEMA.steps s
    JOIN o ON o.step_id = s.id
    JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
    WHERE s.id = ANY (v_held)
  ), u AS (
    UPDATE :TASKER_SCHEMA.steps s SET
      state = d.to_state,
      results = CASE WHEN d.ok THEN coalesce(d.results, 'null'::jsonb) ELSE s.results END,
      last_error = CASE WHEN d.ok THEN s.last_error ELSE d.error END,
      run_at = CASE WHEN d.to_state = 'waiting_for_retry'
        THEN now() + make_interval(secs => coalesce(d.retry_delay_ms, 0) / 1000.0) ELSE s.run_at END,
      backoff_request_seconds = CASE WHEN d.to_state = 'waiting_for_retry'
        THEN coalesce(d.retry_delay_ms, 0) / 1000.0 ELSE s.backoff_request_seconds END,
      completed_at = CASE WHEN d.to_state IN ('complete', 'error', 'cancelled') THEN now() END,
      updated_at = now(),
      transition_count = s.transition_count + 1
    FROM d WHERE s.id = d.id
    RETURNING s.id, s.task_id, s.transition_count, s.attempts, s.run_at, d.to_state, d.error
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT u.id, u.transition_count, 'in_progress', u.to_state,
      CASE u.to_state
        WHEN 'complete' THEN jsonb_build_object('attempt', u.attempts)
        WHEN 'waiting_for_retry' THEN jsonb_build_object('attempt', u.attempts, 'error', u.error, 'retry_at', u.run_at)
        ELSE jsonb_build_object('attempt', u.attempts, 'error', u.error) END
    FROM u
  )
  SELECT array_agg(u.id) FILTER (WHERE u.to_state = 'complete'),
    array_agg(u.id) FILTER (WHERE u.to_state = 'error'),
    jsonb_agg(jsonb_build_array(u.id, u.task_id, u.run_at)) FILTER (WHERE u.to_state = 'waiting_for_retry'),
    jsonb_agg(jsonb_build_array(u.id, u.task_id, u.to_state))
  INTO v_completed, v_failed, retrying, v_changes
  FROM u;
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);

  -- 4. Hand-off: children of completed steps have one parent fewer to wait for. (Their tasks are locked,
  --    and claimers never hold a step that still waits on a parent, so no lock order is needed here.)
  IF v_completed IS NOT NULL THEN
    WITH d AS (
      SELECT c.id, count(*)::smallint AS n
      FROM :TASKER_SCHEMA.steps s CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
      WHERE s.id = ANY (v_completed) GROUP BY c.id
    ), u AS (
      UPDATE :TASKER_SCHEMA.steps s
      SET pending_parents = s.pending_parents - d.n,
        run_at = CASE WHEN s.pending_parents - d.n = 0 THEN now() ELSE s.run_at END,
        updated_at = now()
      FROM d WHERE s.id = d.id
      RETURNING s.id, s.pending_parents, s.state
    )
    SELECT array_agg(u.id ORDER BY u.id) FILTER (WHERE u.pending_parents = 0 AND u.state = 'pending')
    INTO ready FROM u;
  END IF;

  -- 5. A step that failed for good: every pending step below it can never run.
  IF v_failed IS NOT NULL THEN
    WITH RECURSIVE below (id) AS (
      SELECT c.id FROM :TASKER_SCHEMA.steps s CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
      WHERE s.id = ANY (v_failed)
      UNION
      SELECT c.id FROM below b
      JOIN :TASKER_SCHEMA.steps s ON s.id = b.id AND s.state = 'pending'
      CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
    ), u AS (
      UPDATE :TASKER_SCHEMA.steps s SET blocked = true, updated_at = now()
      FROM below b WHERE s.id = b.id AND s.state = 'pending' AND NOT s.blocked
      RETURNING s.task_id
    )
    SELECT array_agg(u.task_id) INTO v_blocked_tasks FROM u;
  END IF;

  -- 6. Task progress. A task whose last step this was finishes in the same UPDATE (one new row version
  --    and one statement instead of two); a task never seen started (still pending: another claimer held
  --    its row) goes through _finish_tasks, which starts it first.
  WITH delta AS (
    SELECT x.task_id, sum(x.done)::integer AS done, sum(x.failed)::integer AS failed FROM (
      SELECT s.task_id, 1 AS done, (s.state = 'error')::integer AS failed
      FROM :TASKER_SCHEMA.steps s
      WHERE s.id = ANY (coalesce(v_completed, '{}') || coalesce(v_failed, '{}'))
      UNION ALL
      SELECT b.task_id, 1, 0 FROM unnest(v_blocked_tasks) AS b (task_id)
    ) x GROUP BY x.task_id
  ), f AS (
    -- The tasks are locked (step 2): what is read here is what the UPDATE below changes.
    SELECT d.task_id, d.done, d.failed, (t.state = 'in_progress' AND t.unfinished_steps = d.done) AS finishing,
      CASE WHEN t.failed_steps + d.failed > 0 THEN 'error' ELSE 'complete' END AS end_state
    FROM delta d JOIN :TASKER_SCHEMA.tasks t ON t.id = d.task_id
  ), u AS (
    UPDATE :TASKER_SCHEMA.tasks t
    SET unfinished_steps = t.unfinished_steps - f.done, failed_steps = t.failed_steps + f.failed, updated_at = now(),
      state = CASE WHEN f.finishing THEN f.end_state ELSE t.state END,
      completed_at = CASE WHEN f.finishing THEN now() ELSE t.completed_at END,
      transition_count = t.transition_count + f.finishing::integer
    FROM f WHERE t.id = f.task_id
    RETURNING t.id, t.unfinished_steps, t.state::text AS state, t.transition_count, f.finishing
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.task_transitions (task_id, sort_key, from_state, to_state, metadata)
    SELECT u.id, u.transition_count, 'in_progress', u.state,
      CASE WHEN u.state = 'complete' THEN '{"reason": "all steps complete"}'::jsonb
      ELSE jsonb_build_object('reason', 'steps failed', 'failed_steps', (
        SELECT jsonb_agg(s.name ORDER BY s.position) FROM :TASKER_SCHEMA.steps s
        WHERE s.task_id = u.id AND s.state = 'error')) END
    FROM u WHERE u.finishing
  )
  SELECT jsonb_agg(jsonb_build_array(u.id, u.state)) FILTER (WHERE u.finishing),
    array_agg(u.id) FILTER (WHERE u.unfinished_steps = 0 AND u.state = 'pending')
  INTO finished, v_finishing FROM u;
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:task', finished);

  IF v_finishing IS NOT NULL THEN
    v_more := :TASKER_SCHEMA._finish_tasks(v_finishing);
    finished := CASE WHEN finished IS NULL THEN v_more WHEN v_more IS NULL THEN finished
      ELSE finished || v_more END;
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid) IS
  'Internal: applies step outcomes [{step_id, attempt, worker_id?, ok, results, error, permanent, '
  'retry_delay_ms}] under their leases; returns refused step ids, children made ready, retries '
  '[[step_id, task_id, run_at]] and finished tasks [[task_id, state]].';
