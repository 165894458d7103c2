-- Retention (issue 11, part 1): finished tasks older than a policy's age are removed with their steps,
-- annotations and audit trail, in small batches, each its own short transaction. A batch locks only the
-- finished task rows it takes (SKIP LOCKED: a task someone is retrying or resolving right now is left for
-- the next run), so pruning never waits for a worker and no worker waits for pruning.
--
-- One pruner at a time across every process: each batch first takes a transaction-level advisory lock;
-- the workers' maintenance job tries it and gives up when another process holds it (that process is
-- pruning), while `tasker prune` by hand waits its turn.
--
-- The audit tables refuse DELETE unless the transaction sets tasker.allow_audit_delete (migration 14):
-- this function is the one place that does, for its own deletes only.

-- When tasks finished, for retention's "finished before" range. A BRIN index (a summary per range of
-- table blocks) rather than a B-tree: finishing a task then costs next to nothing on the hot path, where
-- a partial B-tree on (completed_at, id) cost about a fifth of the drain throughput in the benchmark
-- (w1d 2,924 -> 2,180 tasks/s, same sitting). Rows are written roughly in completion order, so a range
-- of old completion times maps to few block ranges.
CREATE INDEX tasks_completed_at ON :TASKER_SCHEMA.tasks USING brin (completed_at);

CREATE FUNCTION :TASKER_SCHEMA.prune_tasks(
  p_states text[], p_older_than_ms bigint, p_limit integer,
  p_namespace text, p_name text, p_exclude text[], p_wait boolean
) RETURNS TABLE (tasks bigint, steps bigint, transitions bigint, locked boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  v_ids bigint[];
  v_tasks bigint;
  v_steps bigint;
  v_step_transitions bigint;
  v_task_transitions bigint;
  v_lock bigint := hashtext(:TASKER_SCHEMA_LITERAL || '/prune_tasks');
  -- The database's clock, not the caller's: every process agrees on what is old enough.
  v_before timestamptz := now() - p_older_than_ms * interval '1 millisecond';
BEGIN
  IF p_wait THEN
    PERFORM pg_advisory_xact_lock(v_lock);
  ELSIF NOT pg_try_advisory_xact_lock(v_lock) THEN
    RETURN QUERY SELECT 0::bigint, 0::bigint, 0::bigint, false;
    RETURN;
  END IF;

  SELECT array_agg(x.id) INTO v_ids FROM (
    SELECT t.id
    FROM :TASKER_SCHEMA.tasks t
    JOIN :TASKER_SCHEMA.named_tasks nt ON nt.id = t.named_task_id
    JOIN :TASKER_SCHEMA.task_namespaces ns ON ns.id = nt.namespace_id
    WHERE t.state IN ('complete', 'error', 'cancelled', 'resolved_manually')
      AND t.state = ANY (p_states)
      AND t.completed_at < v_before
      AND (p_namespace IS NULL OR ns.name = p_namespace)
      AND (p_name IS NULL OR nt.name = p_name)
      AND NOT (ns.name = ANY (p_exclude) OR (ns.name || '/' || nt.name) = ANY (p_exclude))
    ORDER BY t.completed_at, t.id
    LIMIT p_limit
    FOR UPDATE OF t SKIP LOCKED
  ) x;
  IF v_ids IS NULL THEN
    RETURN QUERY SELECT 0::bigint, 0::bigint, 0::bigint, true;
    RETURN;
  END IF;

  PERFORM set_config('tasker.allow_audit_delete', 'on', true);
  DELETE FROM :TASKER_SCHEMA.step_transitions st
  USING :TASKER_SCHEMA.steps s
  WHERE s.task_id = ANY (v_ids) AND st.step_id = s.id;
  GET DIAGNOSTICS v_step_transitions = ROW_COUNT;
  DELETE FROM :TASKER_SCHEMA.task_transitions WHERE task_id = ANY (v_ids);
  GET DIAGNOSTICS v_task_transitions = ROW_COUNT;
  PERFORM set_config('tasker.allow_audit_delete', 'off', true);

  DELETE FROM :TASKER_SCHEMA.steps WHERE task_id = ANY (v_ids);
  GET DIAGNOSTICS v_steps = ROW_COUNT;
  -- task_annotations go with their tasks (ON DELETE CASCADE).
  DELETE FROM :TASKER_SCHEMA.tasks WHERE id = ANY (v_ids);
  GET DIAGNOSTICS v_tasks = ROW_COUNT;
  RETURN QUERY SELECT v_tasks, v_steps, v_step_transitions + v_task_transitions, true;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.prune_tasks(text[], bigint, integer, text, text, text[], boolean) IS
  'Removes up to p_limit finished tasks in p_states that finished more than p_older_than_ms ago (by the '
  'database clock; oldest first), with '
  'their steps, annotations and audit trail. p_namespace / p_name narrow it to templates; p_exclude lists '
  '''namespace'' or ''namespace/name'' entries to leave alone (templates with a policy of their own). '
  'One pruner at a time (advisory lock): p_wait false returns locked = false at once when another holds '
  'it. Returns what was removed; call again until tasks < p_limit.';

CREATE FUNCTION :TASKER_SCHEMA.count_prunable_tasks(
  p_states text[], p_older_than_ms bigint, p_namespace text, p_name text, p_exclude text[]
) RETURNS TABLE (tasks bigint, steps bigint, transitions bigint)
LANGUAGE sql STABLE AS $$
  SELECT count(*)::bigint, coalesce(sum(t.step_count), 0)::bigint,
    coalesce(sum(t.transition_count + (SELECT coalesce(sum(s.transition_count), 0)
      FROM :TASKER_SCHEMA.steps s WHERE s.task_id = t.id)), 0)::bigint
  FROM :TASKER_SCHEMA.tasks t
  JOIN :TASKER_SCHEMA.named_tasks nt ON nt.id = t.named_task_id
  JOIN :TASKER_SCHEMA.task_namespaces ns ON ns.id = nt.namespace_id
  WHERE t.state IN ('complete', 'error', 'cancelled', 'resolved_manually')
    AND t.state = ANY (p_states)
    AND t.completed_at < now() - p_older_than_ms * interval '1 millisecond'
    AND (p_namespace IS NULL OR ns.name = p_namespace)
    AND (p_name IS NULL OR nt.name = p_name)
    AND NOT (ns.name = ANY (p_exclude) OR (ns.name || '/' || nt.name) = ANY (p_exclude))
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.count_prunable_tasks(text[], bigint, text, text, text[]) IS
  'What prune_tasks would remove with the same arguments, without a limit (the dry run): tasks, steps '
  'and audit rows.';
