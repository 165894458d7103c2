-- Introspection: the original's readiness and execution-context functions (same fields and status
-- values), computed by this engine's rules: retry limits count attempts since the last task retry, a
-- step in `error` has failed for good (no retry is pending for it), and backoff is the step's run_at.
-- These are for display and diagnosis; dispatch never calls them (it uses the ready index).

CREATE FUNCTION :TASKER_SCHEMA.step_readiness_status_batch(p_task_ids bigint[])
RETURNS TABLE (
  workflow_step_id bigint, task_id bigint, named_step_id integer, name text, current_state text,
  dependencies_satisfied boolean, retry_eligible boolean, ready_for_execution boolean,
  last_failure_at timestamptz, next_retry_at timestamptz, total_parents integer, completed_parents integer,
  attempts integer, retry_limit integer, backoff_request_seconds numeric, last_attempted_at timestamptz
)
LANGUAGE sql STABLE AS $$
  SELECT s.id, s.task_id, s.named_step_id, s.name::text, s.state::text,
    p.done = p.total,
    s.retryable AND s.state <> 'error' AND s.attempts - s.attempts_base < s.retry_limit,
    s.state IN ('pending', 'waiting_for_retry') AND p.done = p.total AND NOT s.blocked
      AND s.run_at IS NOT NULL AND s.run_at <= now()
      AND s.retryable AND s.attempts - s.attempts_base < s.retry_limit
      AND t.state IN ('pending', 'in_progress'),
    (SELECT max(tr.created_at) FROM :TASKER_SCHEMA.step_transitions tr
     WHERE tr.step_id = s.id AND tr.to_state IN ('waiting_for_retry', 'error')),
    CASE WHEN s.state = 'waiting_for_retry' THEN s.run_at END,
    p.total, p.done,
    s.attempts - s.attempts_base, s.retry_limit, s.backoff_request_seconds, s.last_attempted_at
  FROM :TASKER_SCHEMA.steps s
  JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
  CROSS JOIN LATERAL (
    SELECT cardinality(s.parent_ids) AS total,
      (SELECT count(*)::integer FROM :TASKER_SCHEMA.steps ps
       WHERE ps.id = ANY (s.parent_ids) AND ps.state IN ('complete', 'resolved_manually', 'skipped')) AS done
  ) p
  WHERE s.task_id = ANY (p_task_ids)
  ORDER BY s.task_id, s.position
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.step_readiness_status_batch(bigint[]) IS
  'Readiness of every step of the given tasks: dependencies, retry eligibility (attempts left, not '
  'failed for good), readiness now, last failure and next retry time.';

CREATE FUNCTION :TASKER_SCHEMA.step_readiness_status(p_task_id bigint, p_step_ids bigint[] DEFAULT NULL)
RETURNS TABLE (
  workflow_step_id bigint, task_id bigint, named_step_id integer, name text, current_state text,
  dependencies_satisfied boolean, retry_eligible boolean, ready_for_execution boolean,
  last_failure_at timestamptz, next_retry_at timestamptz, total_parents integer, completed_parents integer,
  attempts integer, retry_limit integer, backoff_request_seconds numeric, last_attempted_at timestamptz
)
LANGUAGE sql STABLE AS $$
  SELECT * FROM :TASKER_SCHEMA.step_readiness_status_batch(ARRAY[p_task_id]) r
  WHERE p_step_ids IS NULL OR r.workflow_step_id = ANY (p_step_ids)
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.step_readiness_status(bigint, bigint[]) IS
  'Readiness of the steps of one task (all, or the given ids).';

CREATE FUNCTION :TASKER_SCHEMA.task_execution_context_batch(p_task_ids bigint[])
RETURNS TABLE (
  task_id bigint, named_task_id integer, status text, total_steps integer, pending_steps integer,
  in_progress_steps integer, completed_steps integer, failed_steps integer, ready_steps integer,
  execution_status text, recommended_action text, completion_percentage numeric, health_status text
)
LANGUAGE sql STABLE AS $$
  WITH counts AS (
    SELECT t.id, t.named_task_id, t.state,
      count(r.*)::integer AS total,
      count(*) FILTER (WHERE r.current_state IN ('pending', 'waiting_for_retry'))::integer AS pending,
      count(*) FILTER (WHERE r.current_state = 'in_progress')::integer AS in_progress,
      count(*) FILTER (WHERE r.current_state IN ('complete', 'resolved_manually', 'skipped'))::integer AS completed,
      count(*) FILTER (WHERE r.current_state = 'error')::integer AS failed,
      count(*) FILTER (WHERE r.current_state = 'waiting_for_retry')::integer AS retrying,
      count(*) FILTER (WHERE r.ready_for_execution)::integer AS ready
    FROM :TASKER_SCHEMA.tasks t
    LEFT JOIN :TASKER_SCHEMA.step_readiness_status_batch(p_task_ids) r ON r.task_id = t.id
    WHERE t.id = ANY (p_task_ids)
    GROUP BY t.id, t.named_task_id, t.state
  ), s AS (
    SELECT c.*,
      CASE
        WHEN c.state = 'cancelled' THEN 'cancelled'
        WHEN c.ready > 0 THEN 'has_ready_steps'
        WHEN c.in_progress > 0 THEN 'processing'
        WHEN c.failed > 0 THEN 'blocked_by_failures'
        WHEN c.total > 0 AND c.completed = c.total THEN 'all_complete'
        ELSE 'waiting_for_dependencies'
      END AS execution_status
    FROM counts c
  )
  SELECT s.id, s.named_task_id, s.state::text, s.total, s.pending, s.in_progress, s.completed, s.failed, s.ready,
    s.execution_status,
    CASE s.execution_status
      WHEN 'cancelled' THEN 'none'
      WHEN 'has_ready_steps' THEN 'execute_ready_steps'
      WHEN 'processing' THEN 'wait_for_completion'
      WHEN 'blocked_by_failures' THEN 'handle_failures'
      WHEN 'all_complete' THEN 'finalize_task'
      ELSE 'wait_for_dependencies'
    END,
    CASE WHEN s.total = 0 THEN 0 ELSE round(100.0 * s.completed / s.total, 2) END,
    CASE
      WHEN s.failed = 0 AND s.retrying = 0 THEN 'healthy'
      WHEN s.failed = 0 OR s.ready > 0 OR s.in_progress > 0 THEN 'recovering'
      WHEN s.failed > 0 THEN 'blocked'
      ELSE 'unknown'
    END
  FROM s ORDER BY s.id
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.task_execution_context_batch(bigint[]) IS
  'Execution context of the given tasks: step counts by state, execution_status (has_ready_steps, '
  'processing, blocked_by_failures, all_complete, waiting_for_dependencies; cancelled for a cancelled '
  'task), recommended_action, completion_percentage and health_status (healthy, recovering, blocked).';

CREATE FUNCTION :TASKER_SCHEMA.task_execution_context(p_task_id bigint)
RETURNS TABLE (
  task_id bigint, named_task_id integer, status text, total_steps integer, pending_steps integer,
  in_progress_steps integer, completed_steps integer, failed_steps integer, ready_steps integer,
  execution_status text, recommended_action text, completion_percentage numeric, health_status text
)
LANGUAGE sql STABLE AS $$
  SELECT * FROM :TASKER_SCHEMA.task_execution_context_batch(ARRAY[p_task_id])
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.task_execution_context(bigint) IS 'Execution context of one task.';

CREATE FUNCTION :TASKER_SCHEMA.calculate_dependency_levels(p_task_id bigint)
RETURNS TABLE (workflow_step_id bigint, dependency_level integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_ids bigint[];
  v_parents integer[];
  v_children integer[];
  v_levels integer[];
  v_changed boolean := true;
  v_pass integer := 0;
BEGIN
  SELECT array_agg(s.id ORDER BY s.position) INTO v_ids FROM :TASKER_SCHEMA.steps s WHERE s.task_id = p_task_id;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;
  -- Edges as positions (1-based), then longest-path relaxation: at most one pass per step in a DAG.
  SELECT array_agg(p.position + 1), array_agg(c.position + 1) INTO v_parents, v_children
  FROM :TASKER_SCHEMA.steps c
  CROSS JOIN LATERAL unnest(c.parent_ids) AS pid (id)
  JOIN :TASKER_SCHEMA.steps p ON p.id = pid.id
  WHERE c.task_id = p_task_id;
  v_levels := array_fill(0, ARRAY[cardinality(v_ids)]);
  WHILE v_changed AND v_parents IS NOT NULL AND v_pass < cardinality(v_ids) LOOP
    v_changed := false;
    v_pass := v_pass + 1;
    FOR i IN 1 .. cardinality(v_parents) LOOP
      IF v_levels[v_children[i]] < v_levels[v_parents[i]] + 1 THEN
        v_levels[v_children[i]] := v_levels[v_parents[i]] + 1;
        v_changed := true;
      END IF;
    END LOOP;
  END LOOP;
  RETURN QUERY SELECT v_ids[i], v_levels[i] FROM generate_subscripts(v_ids, 1) AS i ORDER BY i;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.calculate_dependency_levels(bigint) IS
  'Dependency level of each step of a task: 0 for roots, otherwise 1 + the highest level of its parents.';
