-- The dry run (count_prunable_tasks, migration 32) matched each task against
-- `_retention_templates(...)` called in its WHERE clause. That SQL function is not inlined (it
-- aggregates), so on a sequential scan of tasks it ran once per row (125 ms of calls over 20,000 finished
-- tasks, in EXPLAIN ANALYZE). Cast from a sub-select it runs once (an InitPlan), as removal already does
-- by keeping the result in a variable (_expired_tasks). The dry run over those 20,000 tasks, warm, three
-- calls each: 194-202 -> 67-71 ms.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.count_prunable_tasks(
  p_states text[], p_older_than_ms bigint, p_namespace text, p_name text, p_exclude text[]
) RETURNS TABLE (tasks bigint, steps bigint, transitions bigint)
LANGUAGE sql STABLE AS $$
  SELECT count(*)::bigint, coalesce(sum(t.step_count), 0)::bigint,
    coalesce(sum(t.transition_count + (SELECT coalesce(sum(s.transition_count), 0)
      FROM :TASKER_SCHEMA.steps s WHERE s.task_id = t.id)), 0)::bigint
  FROM :TASKER_SCHEMA.tasks t
  WHERE t.state IN ('complete', 'error', 'cancelled', 'resolved_manually')
    AND t.state = ANY (p_states)
    AND t.completed_at < now() - p_older_than_ms * interval '1 millisecond'
    AND t.named_task_id = ANY ((SELECT :TASKER_SCHEMA._retention_templates(p_namespace, p_name, p_exclude))::integer[])
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.count_prunable_tasks(text[], bigint, text, text, text[]) IS
  'What prune_tasks would remove with the same arguments, without a limit (the dry run): tasks, steps '
  'and audit rows.';
