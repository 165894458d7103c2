-- A task created in a process whose worker has room starts in the round trip that creates it (issue 13: the
-- time from createTask to the first step's start on an idle system). Until now a new task's first step waited
-- for the ready notification to reach a worker and for that worker's claim: on an idle machine it started
-- 1.9-2.2 ms after createTask returned, after a wake-up and a second round trip. When the Tasker that creates
-- the task has a worker serving its template with free room (and the call is a lone createTask:
-- docs/architecture.md, the dispatch path), the creating round trip now also claims for that worker:
-- create_tasks, then claim_steps in the same transaction, which sees the new steps. It is an ordinary claim
-- (the queue's order, flow control, delays, the worker's templates), so a new task does not pass older ready
-- work; it only saves the wake-up and the round trip.
--
-- The notification that steps are ready is sent by create_tasks_and_claim after its claim, and only if the
-- claim left some of the new steps ready: create_tasks takes p_notify_ready (as in migration 38
-- otherwise); a task whose first step the creating worker took wakes nobody, so that worker does not spend
-- a round trip on an empty claim.

DROP FUNCTION :TASKER_SCHEMA.create_tasks(integer, jsonb);

CREATE FUNCTION :TASKER_SCHEMA.create_tasks(
  p_named_task_id integer, p_tasks jsonb, p_notify_ready boolean DEFAULT true
)
RETURNS TABLE (ord integer, task_id bigint, created boolean, state text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
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
      -- (A fresh id: its task exists only if the insert above made it.)
      WHERE EXISTS (SELECT 1 FROM :TASKER_SCHEMA.tasks c WHERE c.id = v_ids[x.n])
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
    IF v_ready_now AND coalesce(p_notify_ready, true) THEN
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
  LEFT JOIN :TASKER_SCHEMA.tasks c ON c.id = v_ids[x.n]
  LEFT JOIN :TASKER_SCHEMA.tasks e ON c.id IS NULL AND e.identity_key = x.v ->> 'identity_key'
  ORDER BY x.n;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.create_tasks(integer, jsonb, boolean) IS
  'Creates tasks of one template with their steps, in one statement per call. p_tasks: [{context, '
  'initiator, source_system, reason, tags, bypass_steps, bypass_positions, requested_at, identity_key, '
  'correlation_id, traceparent, run_at, priority, task_key, task_limit, steps_flow}]. run_at delays the '
  'first steps until then; priority orders the claim; task_key/task_limit is a task-scoped concurrency '
  'key; steps_flow maps a step position to {key, limit, rate_limits: [{name, units}], wait}; '
  'parent_task_id/parent_step_id make it the child of a step (migration 22). Returns each input''s '
  'task id, whether it was created (false: an existing task with the same identity_key, returned '
  'instead) and its state. p_notify_ready false: no notification for the steps ready now (the caller claims them and '
  'notifies what it leaves; migration 40).';

-- The round trip of a createTask that claims for a worker of its process.
CREATE FUNCTION :TASKER_SCHEMA.create_tasks_and_claim(
  p_named_task_id integer, p_tasks jsonb, p_worker_id uuid, p_claim_limit integer, p_named_task_ids integer[]
) RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
AS $$
DECLARE
  v_claim boolean := coalesce(p_claim_limit, 0) > 0;
  v_rows :TASKER_SCHEMA.dispatch_row[];
  v_created bigint[];
BEGIN
  SELECT array_agg(ROW(CASE WHEN c.created THEN 'created' ELSE 'existing' END, NULL, c.task_id, c.state, NULL,
      NULL, c.ord, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::
      :TASKER_SCHEMA.dispatch_row ORDER BY c.ord),
    array_agg(c.task_id) FILTER (WHERE c.created)
  INTO v_rows, v_created
  FROM :TASKER_SCHEMA.create_tasks(p_named_task_id, p_tasks, NOT v_claim) AS c;
  RETURN QUERY SELECT * FROM unnest(v_rows);
  IF v_claim THEN
    RETURN QUERY SELECT * FROM :TASKER_SCHEMA.claim_steps(p_worker_id, p_named_task_ids, p_claim_limit);
    -- What the claim left of the new steps ready now is for any worker: wake them.
    IF EXISTS (SELECT 1 FROM :TASKER_SCHEMA.steps s WHERE s.task_id = ANY (v_created) AND s.state = 'pending'
        AND s.pending_parents = 0 AND s.run_at <= now()) THEN
      PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
    END IF;
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.create_tasks_and_claim(integer, jsonb, uuid, integer, integer[]) IS
  'create_tasks, then claim_steps for a worker of the creating process (up to p_claim_limit, of '
  'p_named_task_ids), in one transaction; the ready notification only for new steps the claim left. '
  'Returns one row per request, kind created (or existing: a task with the same identity_key, returned '
  'instead) with its task_id, state and, in attempt, the request''s position (from 1); then the claimed '
  '(and queued) rows, as claim_steps returns them.';

COMMENT ON TYPE :TASKER_SCHEMA.dispatch_row IS
  'What claim_steps, finish_steps and create_tasks_and_claim return. kind = claimed (a step now leased to '
  'the caller, with all a handler needs), queued (leased too, in line behind the caller''s holders of its '
  'concurrency key), refused (an outcome for a lease the caller no longer holds), retry (a step waiting '
  'for retry until run_at), task (a task that finished, with its final state), created or existing (a '
  'task request''s result: task_id, state, and its position in attempt).';
