-- Deleting a batch's step transitions by the batch's step ids (migration 28's _delete_tasks joined
-- step_transitions to steps and let the planner choose the join's order). After a drain by two worker
-- processes, with statistics that lagged behind it, the planner chose to walk all of step_transitions
-- through its primary key and look each row's step up: 60-70 ms of a 500-task batch at 40,000 rows,
-- growing with the table, where the batch's own rows take 2-3 ms; archiving ran at 5,800 tasks/s after a
-- two-process drain and 9,300 after a one-process drain of the same 20,000 tasks. The step ids are now
-- collected first (steps by task_id), and step_transitions is entered only through its primary key with
-- them, so there is one plan left whatever the statistics say.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA._delete_tasks(p_ids bigint[])
RETURNS TABLE (tasks bigint, steps bigint, transitions bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
AS $$
DECLARE
  v_step_ids bigint[];
  v_tasks bigint;
  v_steps bigint;
  v_step_transitions bigint;
  v_task_transitions bigint;
BEGIN
  v_step_ids := ARRAY(SELECT s.id FROM :TASKER_SCHEMA.steps s WHERE s.task_id = ANY (p_ids));
  PERFORM set_config('tasker.allow_audit_delete', 'on', true);
  DELETE FROM :TASKER_SCHEMA.step_transitions WHERE step_id = ANY (v_step_ids);
  GET DIAGNOSTICS v_step_transitions = ROW_COUNT;
  DELETE FROM :TASKER_SCHEMA.task_transitions WHERE task_id = ANY (p_ids);
  GET DIAGNOSTICS v_task_transitions = ROW_COUNT;
  PERFORM set_config('tasker.allow_audit_delete', 'off', true);

  DELETE FROM :TASKER_SCHEMA.steps WHERE id = ANY (v_step_ids);
  GET DIAGNOSTICS v_steps = ROW_COUNT;
  -- task_annotations go with their tasks (ON DELETE CASCADE).
  DELETE FROM :TASKER_SCHEMA.tasks WHERE id = ANY (p_ids);
  GET DIAGNOSTICS v_tasks = ROW_COUNT;
  RETURN QUERY SELECT v_tasks, v_steps, v_step_transitions + v_task_transitions;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._delete_tasks(bigint[]) IS
  'Deletes tasks with their steps, annotations and audit trail (the one place, with retention, allowed '
  'to delete audit rows), entering each table by its key. Returns the rows removed.';
