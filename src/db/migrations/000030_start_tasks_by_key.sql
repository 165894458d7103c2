-- _start_tasks (migration 2) found its tasks with `id = ANY (p_task_ids) AND state = 'pending'`, and the
-- planner was free to read them through tasks_state: with statistics that lagged behind a burst of new
-- tasks (8 pending rows estimated, 20,000 there) it read every pending task and kept the batch's few, at
-- each call: 2.6 ms for 50 tasks with 20,000 pending, growing with the backlog. It is called at each claim
-- (from _start_steps) and at each finish (from _finish_tasks, for a task that was never seen started), so
-- a drain of pre-created tasks paid it twice per round trip. The state is now no index condition: the
-- tasks are found by their ids (tasks_pkey), so a call costs what its batch holds whatever the backlog.
-- Migration 27 kept custom plans for it (its generic plan, reading tasks_state, cost more); a plan by key is
-- right at every size, so it is now made once per connection: planning the statement for each batch was
-- most of a call. Measured in one sitting against the previous commit (`npm run bench -- --only a,d
-- --backend pg --runs 1`, twice each, interleaved): w1d drain 3,525 / 3,730 -> 5,446 / 5,007 tasks/s; w1
-- 4,371 / 4,569 -> 5,260 / 5,333 tasks/s; idle chain hand-off p50 1.51 / 1.87 -> 1.28 / 1.33 ms.
-- (Also tried: _start_steps calling it only for tasks it saw pending, through a join of its returned rows
-- to tasks: the generic plan of that join halved w1, so _start_steps is unchanged.)
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA._start_tasks(p_task_ids bigint[]) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  v_changes jsonb;
BEGIN
  IF p_task_ids IS NULL OR cardinality(p_task_ids) = 0 THEN
    RETURN;
  END IF;
  WITH t AS (
    SELECT x.id FROM :TASKER_SCHEMA.tasks x
    WHERE x.id = ANY (p_task_ids)
      -- Written so that it is no index condition: checked on the batch's rows, never a scan of tasks_state.
      AND x.state || '' = 'pending'
    ORDER BY x.id FOR UPDATE SKIP LOCKED
  ), u AS (
    UPDATE :TASKER_SCHEMA.tasks x
    SET state = 'in_progress', started_at = coalesce(x.started_at, now()), updated_at = now(),
      transition_count = x.transition_count + 1
    FROM t WHERE x.id = t.id
    RETURNING x.id, x.transition_count
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.task_transitions (task_id, sort_key, from_state, to_state, metadata)
    SELECT id, transition_count, 'pending', 'in_progress', '{"reason": "a step started"}' FROM u
  )
  SELECT jsonb_agg(jsonb_build_array(id, 'in_progress')) INTO v_changes FROM u;
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:task', v_changes);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._start_tasks(bigint[]) IS
  'Internal: marks tasks in_progress when a step starts (those of p_task_ids still pending, by key).';

