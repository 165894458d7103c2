-- Child workflows, faster hand-offs (issue 9). ctx.startChild no longer writes the child from the handler:
-- it checks the request there (no I/O) and ends the attempt with await_child = {call, named_task_id, task},
-- and the worker's round trip (finish_steps) creates the child (create_tasks, idempotent per step and
-- call), parks the parent step on it and starts the child's first steps on the same worker, in one
-- transaction, as it does for a step's children within a task. When the child finishes, the trigger
-- that wakes the parent step also records the child's state and leaf results in the step's inputs
-- (children.<call>), so the parent's next run reads them without a query. An await_child that is a task
-- id (a worker from before this migration) parks on that child as migration 22 did.

-- The results of a task's last steps (those no other step depends on), by name: what a parent gets.
CREATE FUNCTION :TASKER_SCHEMA._leaf_results(p_task_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_object_agg(s.name, s.results), '{}')
  FROM :TASKER_SCHEMA.steps s
  WHERE s.task_id = p_task_id AND s.child_ids = '{}' AND s.state <> 'skipped'
    AND s.batch_parent_id IS NULL AND s.compensation IS NULL
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA._leaf_results(bigint) IS
  'Internal: a finished child task''s results for its parent: its last steps'' results by name (not skipped '
  'steps, batch workers or compensation steps).';

-- Internal: outcomes [{step_id, attempt, await_child}] of steps that started a child. Each, under its
-- lease: the child is created (await_child = {call, named_task_id, task}; an existing one with the same
-- identity is taken instead) or given (a task id); the step waits for it (waiting_for_retry, parked on
-- 'child:<id>', the attempt given back), or, when the child has already finished, is ready at once with
-- its results. Returns the first steps of the children created, for the caller to start.
DROP FUNCTION :TASKER_SCHEMA._await_children(uuid, jsonb);
CREATE FUNCTION :TASKER_SCHEMA._await_children(p_worker_id uuid, p_outcomes jsonb) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_ids bigint[];
  v_reqs jsonb[];
  v_steps bigint[] := '{}';
  v_children bigint[] := '{}';
  v_created bigint[] := '{}';
  v_task_ids bigint[];
  v_new bigint[];
  v_ready bigint[];
  v_changes jsonb;
BEGIN
  -- The steps still under their leases, locked in id order.
  WITH held AS (
    SELECT s.id, x -> 'await_child' AS req
    FROM jsonb_array_elements(p_outcomes) AS x
    JOIN :TASKER_SCHEMA.steps s ON s.id = (x ->> 'step_id')::bigint
    WHERE x ? 'await_child' AND s.state = 'in_progress' AND s.worker_id = p_worker_id
      AND s.attempts = (x ->> 'attempt')::integer
    ORDER BY s.id
    FOR UPDATE OF s
  )
  SELECT array_agg(id ORDER BY id), array_agg(req ORDER BY id) INTO v_ids, v_reqs FROM held;
  IF v_ids IS NULL THEN
    RETURN NULL;
  END IF;

  -- The children to create, one create_tasks call per template (an existing child with the same
  -- identity is returned instead of a new one); the ones given by id as they are.
  FOR r IN
    SELECT (h.req ->> 'named_task_id')::integer AS template, array_agg(h.id ORDER BY h.id) AS steps,
      jsonb_agg(h.req -> 'task' ORDER BY h.id) AS tasks
    FROM unnest(v_ids, v_reqs) AS h (id, req) WHERE jsonb_typeof(h.req) = 'object'
    GROUP BY 1 ORDER BY 1
  LOOP
    SELECT array_agg(c.task_id ORDER BY c.ord), coalesce(array_agg(c.task_id) FILTER (WHERE c.created), '{}')
    INTO v_task_ids, v_new
    FROM :TASKER_SCHEMA.create_tasks(r.template, r.tasks) c;
    v_steps := v_steps || r.steps;
    v_children := v_children || v_task_ids;
    v_created := v_created || v_new;
  END LOOP;
  SELECT v_steps || coalesce(array_agg(h.id), '{}'), v_children || coalesce(array_agg((h.req #>> '{}')::bigint), '{}')
  INTO v_steps, v_children
  FROM unnest(v_ids, v_reqs) AS h (id, req) WHERE jsonb_typeof(h.req) <> 'object';

  -- A new statement: children that existed (and may have finished) show their state. Each step waits
  -- for its child (parked), or is ready at once with its results when the child has already finished.
  WITH m AS (
    SELECT m.step_id, m.child_id, t.state::text AS child_state,
      t.state IN ('pending', 'in_progress') AS waits,
      coalesce(h.req ->> 'call', substring(t.identity_key FROM ':child:[0-9]+:([0-9]+)$'), '0') AS call
    FROM unnest(v_steps, v_children) AS m (step_id, child_id)
    JOIN :TASKER_SCHEMA.tasks t ON t.id = m.child_id
    JOIN unnest(v_ids, v_reqs) AS h (id, req) ON h.id = m.step_id
  ), u AS (
    UPDATE :TASKER_SCHEMA.steps s SET state = 'waiting_for_retry', attempts_base = s.attempts_base + 1,
      inputs = coalesce(s.inputs, '{}') || jsonb_build_object('child_task_id', m.child_id,
        'children', coalesce(s.inputs -> 'children', '{}') || jsonb_build_object(m.call,
          CASE WHEN m.waits THEN jsonb_build_object('task_id', m.child_id, 'state', m.child_state)
          ELSE jsonb_build_object('task_id', m.child_id, 'state', m.child_state,
            'results', :TASKER_SCHEMA._leaf_results(m.child_id)) END)),
      parked_on = CASE WHEN m.waits THEN 'child:' || m.child_id END,
      -- run_at stays the time the step first became ready: woken, it goes back to its place in the queue.
      waiting_since = now(), throttled_at = now(), updated_at = now(),
      transition_count = s.transition_count + 1
    FROM m WHERE s.id = m.step_id
    RETURNING s.id, s.task_id, s.transition_count, m.child_id
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT u.id, u.transition_count, 'in_progress', 'waiting_for_retry',
      jsonb_build_object('waiting_for', 'child', 'child_task_id', u.child_id)
    FROM u
  )
  SELECT jsonb_agg(jsonb_build_array(u.id, u.task_id, 'waiting_for_retry')) INTO v_changes FROM u;
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');

  -- The first steps of the children created here (not the existing ones taken instead: others see those),
  -- for the caller to start: nobody else sees them yet.
  SELECT array_agg(c.id ORDER BY c.id) INTO v_ready FROM :TASKER_SCHEMA.steps c
  WHERE c.task_id = ANY (v_created) AND c.state = 'pending' AND c.pending_parents = 0
    AND c.parked_on IS NULL AND c.run_at <= now();
  RETURN v_ready;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._await_children(uuid, jsonb) IS
  'Internal: creates the child tasks steps asked for (or takes the one given) and makes each step wait for '
  'its child without holding a slot or spending an attempt; returns the new children''s first steps.';

-- A child finished: wake the step that waits for it, with the child's state and results in its inputs
-- (children.<call>, the call from the child's identity key, which ends child:<step>:<call>). The step is marked even
-- while it still runs.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA._wake_parent_step() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE :TASKER_SCHEMA.steps s SET parked_on = NULL, run_at = least(coalesce(s.run_at, now()), now()),
    inputs = coalesce(s.inputs, '{}') || jsonb_build_object('children',
      coalesce(s.inputs -> 'children', '{}') || jsonb_build_object(
        coalesce(substring(NEW.identity_key FROM ':child:[0-9]+:([0-9]+)$'), '0'),
        jsonb_build_object('task_id', NEW.id, 'state', NEW.state, 'results', :TASKER_SCHEMA._leaf_results(NEW.id)))),
    updated_at = now()
  WHERE s.id = NEW.parent_step_id AND s.state IN ('in_progress', 'waiting_for_retry', 'pending');
  IF FOUND THEN
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  END IF;
  RETURN NULL;
END $$;

-- finish_steps as in migration 23, plus: the first steps of the child tasks _await_children created are
-- started on this worker with the children the round trip made ready.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.finish_steps(
  p_worker_id uuid, p_outcomes jsonb, p_claim_limit integer DEFAULT 0, p_named_task_ids integer[] DEFAULT NULL
) RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  r record;
  v_special boolean;
  v_decided jsonb;
  v_claim bigint[];
  v_children bigint[];
  v_left integer := coalesce(p_claim_limit, 0);
BEGIN
  -- One look for the rare outcomes (children, batches, decisions); most round trips have none.
  v_special := p_outcomes @? '$[*] ? (exists(@.await_child) || exists(@.await_batch) || exists(@.skip_children))';
  -- Steps that started a child task wait for it (not an attempt); the other outcomes are recorded.
  IF v_special AND p_outcomes @? '$[*] ? (exists(@.await_child))' THEN
    v_children := :TASKER_SCHEMA._await_children(p_worker_id, p_outcomes);
    p_outcomes := (SELECT coalesce(jsonb_agg(x), '[]') FROM jsonb_array_elements(p_outcomes) AS x
      WHERE NOT x ? 'await_child');
  END IF;
  -- Batch steps that returned their items fan out to one worker step each, and wait for them.
  IF v_special AND p_outcomes @? '$[*] ? (exists(@.await_batch))' THEN
    PERFORM :TASKER_SCHEMA._start_batches(p_worker_id, p_outcomes);
    p_outcomes := (SELECT coalesce(jsonb_agg(x), '[]') FROM jsonb_array_elements(p_outcomes) AS x
      WHERE NOT x ? 'await_batch');
  END IF;
  SELECT * INTO r FROM :TASKER_SCHEMA._record_outcomes(p_outcomes, p_worker_id);
  -- Decision steps that completed: the children they did not choose are skipped, with what only they lead to.
  IF v_special AND p_outcomes @? '$[*] ? (exists(@.skip_children))' THEN
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

  -- The children this worker made ready go to this worker first: no round trip, no wake-up; so do the
  -- first steps of the child tasks it just created (new in this transaction: nobody else sees them).
  IF (r.ready IS NOT NULL OR v_children IS NOT NULL) AND v_left > 0 THEN
    SELECT array_agg(c.id ORDER BY c.id) INTO v_claim FROM (
      SELECT s.id FROM :TASKER_SCHEMA.steps s
      WHERE s.id = ANY (coalesce(r.ready, '{}') || coalesce(v_children, '{}'))
        AND (p_named_task_ids IS NULL OR s.named_task_id = ANY (p_named_task_ids))
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
  'retry_delay_ms, skip_children, await_child, await_batch}] of steps it holds, then claims up to p_claim_limit ready steps (the children it just '
  'made ready, and the first steps of child tasks it created, first). Returns refused, retry, task (run_at = when it '
  'started) and claimed rows.';
