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

-- create_tasks as in migration 21, plus p_tasks[].parent_task_id / parent_step_id.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.create_tasks(p_named_task_id integer, p_tasks jsonb)
RETURNS TABLE (ord integer, task_id bigint, created boolean, state text)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
  v_step_count integer;
  v_ids bigint[];
  v_created bigint[];
  v_any_bypass boolean;
  v_ready_now boolean;
  v_first_delayed timestamptz;
  v_step_seq regclass := format('%I.%I', :TASKER_SCHEMA_LITERAL, 'steps_id_seq')::regclass;
  v_task_seq regclass := format('%I.%I', :TASKER_SCHEMA_LITERAL, 'tasks_id_seq')::regclass;
BEGIN
  SELECT count(*)::integer INTO v_step_count FROM :TASKER_SCHEMA.named_task_steps WHERE named_task_id = p_named_task_id;
  IF v_step_count = 0 THEN
    RAISE EXCEPTION 'no task template has id %', p_named_task_id USING ERRCODE = 'TKNF3';
  END IF;

  -- Ids first, so that each input row keeps its id through ON CONFLICT.
  SELECT array_agg(nextval(v_task_seq)) INTO v_ids FROM generate_series(1, jsonb_array_length(p_tasks));

  WITH ins AS (
    INSERT INTO :TASKER_SCHEMA.tasks (id, named_task_id, context, initiator, source_system, reason, tags,
      bypass_steps, requested_at, identity_key, correlation_id, traceparent, step_count, unfinished_steps, run_at,
      priority, concurrency_key, concurrency_limit, parent_task_id, parent_step_id)
    SELECT v_ids[x.n], p_named_task_id, x.v -> 'context', x.v ->> 'initiator', x.v ->> 'source_system',
      x.v ->> 'reason',
      ARRAY(SELECT jsonb_array_elements_text(coalesce(x.v -> 'tags', '[]'))),
      ARRAY(SELECT jsonb_array_elements_text(coalesce(x.v -> 'bypass_steps', '[]'))),
      coalesce((x.v ->> 'requested_at')::timestamptz, now()),
      x.v ->> 'identity_key', x.v ->> 'correlation_id', x.v ->> 'traceparent',
      v_step_count, v_step_count - jsonb_array_length(coalesce(x.v -> 'bypass_positions', '[]')),
      (x.v ->> 'run_at')::timestamptz,
      coalesce((x.v ->> 'priority')::integer, 0), x.v ->> 'task_key', (x.v ->> 'task_limit')::integer,
      (x.v ->> 'parent_task_id')::bigint, (x.v ->> 'parent_step_id')::bigint
    FROM jsonb_array_elements(p_tasks) WITH ORDINALITY AS x (v, n)
    ORDER BY x.n
    ON CONFLICT (identity_key) WHERE identity_key IS NOT NULL DO NOTHING
    RETURNING id
  )
  SELECT array_agg(id) INTO v_created FROM ins;

  IF v_created IS NOT NULL THEN
    WITH tpl AS (
      SELECT ts.position, ts.named_step_id, ts.name, ts.retryable, ts.retry_limit, ts.timeout_ms, ts.skippable,
        ts.parent_positions,
        ARRAY(SELECT c.position FROM :TASKER_SCHEMA.named_task_steps c
              WHERE c.named_task_id = p_named_task_id AND ts.position = ANY (c.parent_positions)
              ORDER BY c.position) AS child_positions
      FROM :TASKER_SCHEMA.named_task_steps ts WHERE ts.named_task_id = p_named_task_id
    ), t AS (
      SELECT v_ids[x.n] AS task_id,
        ARRAY(SELECT jsonb_array_elements_text(coalesce(x.v -> 'bypass_positions', '[]'))::smallint) AS bypass,
        -- A delayed task's first steps become claimable at its run_at, not now.
        greatest(coalesce((x.v ->> 'run_at')::timestamptz, now()), now()) AS ready_at,
        coalesce((x.v ->> 'priority')::integer, 0) AS priority,
        x.v ->> 'task_key' IS NOT NULL AS task_keyed,
        x.v -> 'steps_flow' AS steps_flow,
        -- correlated on x.n so that every task gets its own ids
        ARRAY(SELECT nextval(v_step_seq) FROM generate_series(1, v_step_count + 0 * x.n)) AS ids
      FROM jsonb_array_elements(p_tasks) WITH ORDINALITY AS x (v, n)
      WHERE v_ids[x.n] = ANY (v_created)
    ), s AS (
      SELECT t.task_id, t.ids, t.bypass, t.ready_at, t.priority, t.task_keyed,
        t.steps_flow -> (tpl.position::text) AS flow, tpl.*,
        tpl.position = ANY (t.bypass) AS skipped,
        (SELECT count(*) FROM unnest(tpl.parent_positions) AS pp WHERE NOT pp = ANY (t.bypass))::smallint AS waiting_on
      FROM t CROSS JOIN tpl
    )
    INSERT INTO :TASKER_SCHEMA.steps (id, task_id, named_task_id, named_step_id, position, name, state,
      pending_parents, parent_ids, child_ids, run_at, retryable, retry_limit, timeout_ms, skippable, transition_count,
      priority, flow_control, concurrency_key, concurrency_limit, rate_limits, wait)
    SELECT s.ids[s.position + 1], s.task_id, p_named_task_id, s.named_step_id, s.position, s.name,
      CASE WHEN s.skipped THEN 'skipped' ELSE 'pending' END,
      s.waiting_on,
      ARRAY(SELECT s.ids[pp + 1] FROM unnest(s.parent_positions) AS pp),
      ARRAY(SELECT s.ids[cp + 1] FROM unnest(s.child_positions) AS cp),
      CASE WHEN NOT s.skipped AND s.waiting_on = 0 THEN s.ready_at END,
      s.retryable, s.retry_limit, s.timeout_ms, s.skippable,
      CASE WHEN s.skipped THEN 1 ELSE 0 END,
      s.priority,
      ((s.flow ->> 'key' IS NOT NULL)::integer | (s.task_keyed::integer << 1)
        | ((s.flow -> 'rate_limits' IS NOT NULL)::integer << 2) | ((s.flow -> 'wait' IS NOT NULL)::integer << 3))::smallint,
      s.flow ->> 'key', (s.flow ->> 'limit')::integer, s.flow -> 'rate_limits', s.flow -> 'wait'
    FROM s;

    SELECT bool_or(jsonb_array_length(coalesce(x.v -> 'bypass_positions', '[]')) > 0) INTO v_any_bypass
    FROM jsonb_array_elements(p_tasks) AS x (v);
    IF v_any_bypass THEN
      INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
      SELECT id, 1, 'pending', 'skipped', '{"reason": "bypassed when the task was created"}'
      FROM :TASKER_SCHEMA.steps WHERE task_id = ANY (v_created) AND state = 'skipped';
    END IF;

    -- Steps ready now: an empty payload. Delayed ones: a second notification carrying the earliest
    -- run_at in epoch ms, for which idle workers set a timer instead of polling.
    SELECT bool_or(s.run_at <= now()), min(s.run_at) FILTER (WHERE s.run_at > now())
    INTO v_ready_now, v_first_delayed
    FROM :TASKER_SCHEMA.steps s WHERE s.task_id = ANY (v_created) AND s.run_at IS NOT NULL;
    IF v_ready_now THEN
      PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
    END IF;
    IF v_first_delayed IS NOT NULL THEN
      PERFORM pg_notify(':TASKER_CHANNEL:ready',
        (floor(extract(epoch FROM v_first_delayed) * 1000))::bigint::text);
    END IF;
    PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:task',
      (SELECT jsonb_agg(jsonb_build_array(id, 'pending')) FROM unnest(v_created) AS id));
  END IF;

  -- A new statement (new snapshot): duplicates committed by others while we waited are visible.
  RETURN QUERY
  SELECT x.n::integer, coalesce(c.id, e.id), c.id IS NOT NULL, coalesce(e.state, 'pending')::text
  FROM jsonb_array_elements(p_tasks) WITH ORDINALITY AS x (v, n)
  LEFT JOIN unnest(v_created) AS c (id) ON c.id = v_ids[x.n]
  LEFT JOIN :TASKER_SCHEMA.tasks e ON c.id IS NULL AND e.identity_key = x.v ->> 'identity_key'
  ORDER BY x.n;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.create_tasks(integer, jsonb) IS
  'Creates tasks of one template with their steps, in one statement per call. p_tasks: [{context, '
  'initiator, source_system, reason, tags, bypass_steps, bypass_positions, requested_at, identity_key, '
  'correlation_id, traceparent, run_at, priority, task_key, task_limit, steps_flow}]. run_at delays the '
  'first steps until then; priority orders the claim; task_key/task_limit is a task-scoped concurrency '
  'key; steps_flow maps a step position to {key, limit, rate_limits: [{name, units}], wait}; '
  'parent_task_id/parent_step_id make it the child of a step (migration 22). Returns each input''s '
  'task id, whether it was created (false: an existing task with the same identity_key, returned '
  'instead) and its state.';

-- finish_steps as in migration 20, with children awaited first.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.finish_steps(
  p_worker_id uuid, p_outcomes jsonb, p_claim_limit integer DEFAULT 0, p_named_task_ids integer[] DEFAULT NULL
) RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  r record;
  v_decided jsonb;
  v_claim bigint[];
  v_left integer := coalesce(p_claim_limit, 0);
BEGIN
  -- Steps that started a child task wait for it (not an attempt); the other outcomes are recorded.
  IF p_outcomes @? '$[*] ? (exists(@.await_child))' THEN
    PERFORM :TASKER_SCHEMA._await_children(p_worker_id, p_outcomes);
    p_outcomes := (SELECT coalesce(jsonb_agg(x), '[]') FROM jsonb_array_elements(p_outcomes) AS x
      WHERE NOT x ? 'await_child');
  END IF;
  SELECT * INTO r FROM :TASKER_SCHEMA._record_outcomes(p_outcomes, p_worker_id);
  -- Decision steps that completed: the children they did not choose are skipped, with what only they lead to.
  IF p_outcomes @? '$[*] ? (exists(@.skip_children))' THEN
    v_decided := :TASKER_SCHEMA._apply_decisions(p_outcomes);
  END IF;

  RETURN QUERY SELECT 'refused'::text, id, NULL::bigint, NULL::text, NULL::integer, NULL::text, NULL::integer,
    NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb, NULL::text, NULL::text,
    NULL::timestamptz, NULL::timestamptz
  FROM unnest(r.refused) AS id;
  RETURN QUERY SELECT 'retry'::text, (e ->> 0)::bigint, (e ->> 1)::bigint, 'waiting_for_retry'::text, NULL::integer,
    NULL::text, NULL::integer, NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb,
    NULL::text, NULL::text, (e ->> 2)::timestamptz, NULL::timestamptz
  FROM jsonb_array_elements(r.retrying) AS e;
  RETURN QUERY SELECT 'task'::text, NULL::bigint, t.id, e ->> 1, t.named_task_id, NULL::text,
    NULL::integer, NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb,
    t.correlation_id::text, t.traceparent::text, t.started_at, t.created_at
  FROM jsonb_array_elements(coalesce(r.finished, '[]') || coalesce(v_decided, '[]')) AS e
  JOIN :TASKER_SCHEMA.tasks t ON t.id = (e ->> 0)::bigint;

  -- The children this worker made ready go to this worker first: no round trip, no wake-up.
  IF r.ready IS NOT NULL AND v_left > 0 THEN
    SELECT array_agg(c.id ORDER BY c.id) INTO v_claim FROM (
      SELECT s.id FROM :TASKER_SCHEMA.steps s
      WHERE s.id = ANY (r.ready) AND (p_named_task_ids IS NULL OR s.named_task_id = ANY (p_named_task_ids))
        AND s.flow_control = 0 AND s.state = 'pending'
      ORDER BY s.id LIMIT v_left
    ) c;
    IF v_claim IS NOT NULL THEN
      RETURN QUERY SELECT * FROM :TASKER_SCHEMA._start_steps(p_worker_id, v_claim,
        array_fill('pending'::text, ARRAY[cardinality(v_claim)]));
      v_left := v_left - cardinality(v_claim);
    END IF;
  END IF;
  IF r.ready IS NOT NULL AND cardinality(r.ready) > coalesce(cardinality(v_claim), 0) THEN
    -- (Children a decision skipped are among r.ready; a wake-up too many costs one empty claim.)
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  END IF;
  IF v_left > 0 THEN
    RETURN QUERY SELECT * FROM :TASKER_SCHEMA.claim_steps(p_worker_id, p_named_task_ids, v_left);
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[]) IS
  'A worker''s round trip: records outcomes [{step_id, attempt, ok, results, error, permanent, '
  'retry_delay_ms, skip_children, await_child}] of steps it holds, then claims up to p_claim_limit ready steps (the children it just '
  'made ready first). Returns refused, retry, task (run_at = when it started) and claimed rows.';
