-- Child workflows (issue 9, third part). A handler calls ctx.startChild (or a step of kind `subtask` does
-- it for you): the child task is created with its parent's task and step recorded (idempotently: one
-- child per step and call), and the attempt ends with await_child instead of an outcome. finish_steps
-- then moves the step to waiting_for_retry, parked on 'child:<id>', and gives the attempt back (waiting
-- is not an attempt; no worker slot is held). When the child finishes, a trigger wakes the step; it runs
-- its handler again, and ctx.startChild now returns the child's results (or fails with its error).
-- Cancelling a task cancels its unfinished children.

ALTER TABLE :TASKER_SCHEMA.tasks
  ADD COLUMN parent_task_id bigint,
  ADD COLUMN parent_step_id bigint;
COMMENT ON COLUMN :TASKER_SCHEMA.tasks.parent_task_id IS 'The task whose step started this one (a child workflow).';
COMMENT ON COLUMN :TASKER_SCHEMA.tasks.parent_step_id IS 'The step that started this task and waits for it.';
CREATE INDEX tasks_parent ON :TASKER_SCHEMA.tasks (parent_task_id) WHERE parent_task_id IS NOT NULL;

-- Internal: outcomes [{step_id, attempt, await_child}] of steps that started a child: each, still under
-- its lease, waits for the child (waiting_for_retry, parked; the attempt is given back). A child that has
-- already finished (or did so meanwhile: its trigger marked the step) leaves the step ready at once.
CREATE FUNCTION :TASKER_SCHEMA._await_children(p_worker_id uuid, p_outcomes jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_changes jsonb;
BEGIN
  WITH o AS (
    SELECT (x ->> 'step_id')::bigint AS id, (x ->> 'attempt')::integer AS attempt, (x ->> 'await_child')::bigint AS child
    FROM jsonb_array_elements(p_outcomes) AS x WHERE x ? 'await_child'
  ), held AS (
    SELECT s.id FROM :TASKER_SCHEMA.steps s JOIN o ON o.id = s.id
    WHERE s.state = 'in_progress' AND s.worker_id = p_worker_id AND s.attempts = o.attempt
    ORDER BY s.id FOR UPDATE OF s
  ), u AS (
    UPDATE :TASKER_SCHEMA.steps s SET state = 'waiting_for_retry', attempts_base = s.attempts_base + 1,
      inputs = coalesce(s.inputs, '{}') || jsonb_build_object('child_task_id', o.child),
      parked_on = CASE WHEN t.state IN ('pending', 'in_progress')
        AND NOT coalesce((s.inputs ->> 'child_finished')::boolean, false) THEN 'child:' || o.child END,
      -- run_at stays the time the step first became ready: woken, it goes back to its place in the queue.
      waiting_since = now(), throttled_at = now(), updated_at = now(),
      transition_count = s.transition_count + 1
    FROM o JOIN held h ON h.id = o.id JOIN :TASKER_SCHEMA.tasks t ON t.id = o.child
    WHERE s.id = o.id
    RETURNING s.id, s.task_id, s.transition_count, o.child
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT u.id, u.transition_count, 'in_progress', 'waiting_for_retry',
      jsonb_build_object('waiting_for', 'child', 'child_task_id', u.child)
    FROM u
  )
  SELECT jsonb_agg(jsonb_build_array(u.id, u.task_id, 'waiting_for_retry')) INTO v_changes FROM u;
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._await_children(uuid, jsonb) IS
  'Internal: steps that started a child task wait for it without holding a slot or spending an attempt.';

-- A child finished: wake the step that waits for it. The step is marked even while it still runs (it
-- started the child a moment ago), so _await_children cannot park it after the child is done.
CREATE FUNCTION :TASKER_SCHEMA._wake_parent_step() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE :TASKER_SCHEMA.steps SET parked_on = NULL, run_at = least(coalesce(run_at, now()), now()),
    inputs = coalesce(inputs, '{}') || '{"child_finished": true}', updated_at = now()
  WHERE id = NEW.parent_step_id AND state IN ('in_progress', 'waiting_for_retry', 'pending');
  IF FOUND THEN
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._wake_parent_step() IS
  'Internal (trigger): a child task finished; the step that started it runs again to take its results.';
CREATE TRIGGER tasks_wake_parent AFTER UPDATE OF state ON :TASKER_SCHEMA.tasks
  FOR EACH ROW WHEN (NEW.parent_step_id IS NOT NULL AND OLD.state IN ('pending', 'in_progress')
    AND NEW.state NOT IN ('pending', 'in_progress'))
  EXECUTE FUNCTION :TASKER_SCHEMA._wake_parent_step();

-- A cancelled task cancels its unfinished children (and they theirs).
CREATE FUNCTION :TASKER_SCHEMA._cancel_children() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_child bigint;
BEGIN
  FOR v_child IN
    SELECT id FROM :TASKER_SCHEMA.tasks WHERE parent_task_id = NEW.id AND state IN ('pending', 'in_progress')
    ORDER BY id
  LOOP
    PERFORM :TASKER_SCHEMA.cancel_task(v_child, 'its parent task ' || NEW.id || ' was cancelled');
  END LOOP;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._cancel_children() IS 'Internal (trigger): cancels the children of a cancelled task.';
CREATE TRIGGER tasks_cancel_children AFTER UPDATE OF state ON :TASKER_SCHEMA.tasks
  FOR EACH ROW WHEN (NEW.state = 'cancelled' AND OLD.state <> 'cancelled')
  EXECUTE FUNCTION :TASKER_SCHEMA._cancel_children();
