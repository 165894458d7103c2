-- Run-time fan-out (issue 9, fourth part). A step of kind `batch` returns items (`{ items }` or
-- `{ batches }`); the worker reports them (await_batch) and finish_steps creates one worker step per item
-- in the same task: a real step row (name '<batch>[i]', position after the template's, its own retries,
-- lease and audit trail, inputs {item, checkpoint}). The batch step waits for them (waiting_for_retry,
-- parked on 'batch:<id>', the attempt given back), counting them down in batch_pending; when the last
-- worker finishes a trigger wakes it with every worker's results in batch order (or the names of the
-- workers that failed), and the batch step completes with that array, so a step after it converges on
-- all results. A worker saves checkpoints (save_checkpoint) that its next attempt starts from.

ALTER TABLE :TASKER_SCHEMA.steps
  ADD COLUMN batch_parent_id bigint,
  ADD COLUMN batch_index integer,
  ADD COLUMN batch_pending integer;
COMMENT ON COLUMN :TASKER_SCHEMA.steps.batch_parent_id IS 'A batch worker: the batch step that created it.';
COMMENT ON COLUMN :TASKER_SCHEMA.steps.batch_index IS 'A batch worker: its item''s place in the batch (from 0).';
COMMENT ON COLUMN :TASKER_SCHEMA.steps.batch_pending IS 'A batch step: its workers not finished yet.';

-- Internal: outcomes [{step_id, attempt, await_batch: {items, retryable, retry_limit, timeout_ms}}] of
-- batch steps under their leases: the workers are created and the batch step waits for them.
CREATE FUNCTION :TASKER_SCHEMA._start_batches(p_worker_id uuid, p_outcomes jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_n integer;
  v_base integer;
BEGIN
  FOR r IN
    SELECT s.id, s.task_id, s.named_task_id, s.named_step_id, s.name, s.priority, s.transition_count,
      x -> 'await_batch' AS batch
    FROM jsonb_array_elements(p_outcomes) AS x
    JOIN :TASKER_SCHEMA.steps s ON s.id = (x ->> 'step_id')::bigint
    WHERE x ? 'await_batch' AND s.state = 'in_progress' AND s.worker_id = p_worker_id
      AND s.attempts = (x ->> 'attempt')::integer
    ORDER BY s.id
    FOR UPDATE OF s
  LOOP
    v_n := jsonb_array_length(r.batch -> 'items');
    -- The task's row first (the lock order of the dispatch), then its new steps.
    UPDATE :TASKER_SCHEMA.tasks SET step_count = step_count + v_n, unfinished_steps = unfinished_steps + v_n,
      updated_at = now()
    WHERE id = r.task_id;
    SELECT max(position) + 1 INTO v_base FROM :TASKER_SCHEMA.steps WHERE task_id = r.task_id;
    IF v_base + v_n > 32767 THEN
      RAISE EXCEPTION 'batch step % would take the task past 32767 steps', r.id USING ERRCODE = 'TKOP1';
    END IF;
    INSERT INTO :TASKER_SCHEMA.steps (task_id, named_task_id, named_step_id, position, name, state,
      pending_parents, run_at, retryable, retry_limit, timeout_ms, skippable, inputs, priority,
      batch_parent_id, batch_index)
    SELECT r.task_id, r.named_task_id, r.named_step_id, (v_base + i.n - 1)::smallint,
      left(r.name, 100) || '[' || (i.n - 1) || ']', 'pending', 0, now(),
      coalesce((r.batch ->> 'retryable')::boolean, true), coalesce((r.batch ->> 'retry_limit')::integer, 3),
      (r.batch ->> 'timeout_ms')::integer, false, jsonb_build_object('item', i.item), r.priority, r.id,
      (i.n - 1)::integer
    FROM jsonb_array_elements(r.batch -> 'items') WITH ORDINALITY AS i (item, n);

    UPDATE :TASKER_SCHEMA.steps SET state = 'waiting_for_retry', attempts_base = attempts_base + 1,
      parked_on = 'batch:' || r.id, batch_pending = v_n, waiting_since = now(),
      throttled_at = now(), updated_at = now(), transition_count = transition_count + 1
    WHERE id = r.id;
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    VALUES (r.id, r.transition_count + 1, 'in_progress', 'waiting_for_retry',
      jsonb_build_object('waiting_for', 'batch', 'workers', v_n));
    PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step',
      jsonb_build_array(jsonb_build_array(r.id, r.task_id, 'waiting_for_retry')));
  END LOOP;
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._start_batches(uuid, jsonb) IS
  'Internal: creates the worker steps of batch steps that returned their items; the batch steps wait.';

-- A batch worker finished (for good): one fewer for its batch step; the last one wakes it with the
-- results in batch order, or the names of the workers that did not complete.
CREATE FUNCTION :TASKER_SCHEMA._batch_worker_done() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_pending integer;
  v_results jsonb;
  v_failed jsonb;
BEGIN
  UPDATE :TASKER_SCHEMA.steps SET batch_pending = batch_pending - 1
  WHERE id = NEW.batch_parent_id AND batch_pending > 0
  RETURNING batch_pending INTO v_pending;
  IF v_pending IS DISTINCT FROM 0 THEN
    RETURN NULL;
  END IF;
  SELECT jsonb_agg(w.results ORDER BY w.batch_index),
    jsonb_agg(w.name ORDER BY w.batch_index) FILTER (WHERE w.state NOT IN ('complete', 'resolved_manually', 'skipped'))
  INTO v_results, v_failed
  -- Through the task's steps (its key), so that no index on batch_parent_id costs every other step.
  FROM :TASKER_SCHEMA.steps w WHERE w.task_id = NEW.task_id AND w.batch_parent_id = NEW.batch_parent_id;
  UPDATE :TASKER_SCHEMA.steps SET parked_on = NULL, run_at = least(coalesce(run_at, now()), now()), updated_at = now(),
    inputs = CASE WHEN v_failed IS NULL THEN jsonb_build_object('batch_results', v_results)
      ELSE jsonb_build_object('batch_failed', v_failed) END
  WHERE id = NEW.batch_parent_id;
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._batch_worker_done() IS
  'Internal (trigger): counts a batch''s finished workers and wakes the batch step after the last one.';
CREATE TRIGGER steps_batch_worker_done AFTER UPDATE OF state ON :TASKER_SCHEMA.steps
  FOR EACH ROW WHEN (NEW.batch_parent_id IS NOT NULL AND OLD.state IN ('pending', 'in_progress', 'waiting_for_retry')
    AND NEW.state IN ('complete', 'error', 'cancelled', 'resolved_manually', 'skipped'))
  EXECUTE FUNCTION :TASKER_SCHEMA._batch_worker_done();

-- Saves a batch worker's checkpoint under its lease; false when the lease is gone (the value is not kept).
CREATE FUNCTION :TASKER_SCHEMA.save_checkpoint(p_step_id bigint, p_attempt integer, p_checkpoint jsonb)
RETURNS boolean
LANGUAGE sql AS $$
  WITH u AS (
    UPDATE :TASKER_SCHEMA.steps SET inputs = coalesce(inputs, '{}') || jsonb_build_object('checkpoint', p_checkpoint),
      updated_at = now()
    WHERE id = p_step_id AND state = 'in_progress' AND attempts = p_attempt AND batch_parent_id IS NOT NULL
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM u)
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.save_checkpoint(bigint, integer, jsonb) IS
  'Stores a batch worker''s checkpoint (ctx.checkpoint) while it holds the step; its next attempt gets it.';

-- The four dispatch functions that flow control and the new step kinds change, each written once, in its
-- current form (migrations 19 to 23 add the tables, columns, helpers and triggers they use; applied
-- together, the intermediate versions never ran). plan_cache_mode as set by migration 5 (a CREATE OR
-- REPLACE resets it).

-- _start_steps as in migration 2; a step that starts is no longer throttled (19) or waiting (21).
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA._start_steps(p_worker_id uuid, p_ids bigint[], p_from_states text[])
RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  v_task_ids bigint[];
  v_changes jsonb;
BEGIN
  IF p_ids IS NULL OR cardinality(p_ids) = 0 THEN
    RETURN;
  END IF;
  WITH input AS (
    SELECT * FROM unnest(p_ids, p_from_states) AS i (id, from_state)
  ), u AS (
    UPDATE :TASKER_SCHEMA.steps s
    SET state = 'in_progress', attempts = s.attempts + 1, worker_id = p_worker_id, last_attempted_at = now(),
      updated_at = now(), transition_count = s.transition_count + 1, throttled_at = NULL,
      waiting_since = NULL
    FROM input i WHERE s.id = i.id
    RETURNING s.id, s.task_id, s.transition_count, s.attempts, i.from_state
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT id, transition_count, from_state, 'in_progress', jsonb_build_object('attempt', attempts, 'worker_id', p_worker_id)
    FROM u
  )
  SELECT array_agg(DISTINCT task_id), jsonb_agg(jsonb_build_array(id, task_id, 'in_progress'))
  INTO v_task_ids, v_changes FROM u;

  PERFORM :TASKER_SCHEMA._start_tasks(v_task_ids);
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);

  RETURN QUERY
  SELECT 'claimed'::text, s.id, s.task_id, 'in_progress'::text, s.named_task_id, s.name::text, s.attempts,
    s.attempts_base, s.retry_limit, s.timeout_ms, s.inputs, t.context,
    CASE WHEN cardinality(s.parent_ids) = 0 THEN '{}'::jsonb ELSE (
      SELECT coalesce(jsonb_object_agg(p.name, p.results), '{}'::jsonb)
      FROM :TASKER_SCHEMA.steps p WHERE p.id = ANY (s.parent_ids) AND p.state <> 'skipped') END,
    t.correlation_id::text, t.traceparent::text, s.run_at, t.created_at
  FROM :TASKER_SCHEMA.steps s JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
  WHERE s.id = ANY (p_ids);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[]) IS
  'Internal: leases locked ready steps to a worker (in_progress, attempt + 1, audit row) and returns them.';

-- claim_steps as in migration 2, in claim order (run_at - priority seconds), with waits (bit 8 of
-- flow_control: _admit_waits) and then rate limits and concurrency keys (bits 1, 2, 4: _admit_steps)
-- admitted first. A round whose candidates were held back looks again (a few times) so that a full key
-- or an empty bucket does not leave the worker short.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.claim_steps(p_worker_id uuid, p_named_task_ids integer[], p_limit integer)
RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  v_ids bigint[];
  v_states text[];
  v_flow smallint;
  v_candidates integer;
  v_seen bigint[] := '{}';
  v_left integer := p_limit;
  v_round integer := 0;
  v_held boolean := false;
BEGIN
  IF p_limit IS NULL OR p_limit <= 0 THEN
    RETURN;
  END IF;
  LOOP
    SELECT array_agg(c.id), array_agg(c.state), bit_or(c.flow_control) INTO v_ids, v_states, v_flow FROM (
      SELECT s.id, s.state::text AS state, s.flow_control FROM :TASKER_SCHEMA.steps s
      WHERE s.pending_parents = 0 AND s.state IN ('pending', 'waiting_for_retry') AND s.parked_on IS NULL
        AND s.run_at <= now()
        AND (p_named_task_ids IS NULL OR s.named_task_id = ANY (p_named_task_ids))
        AND NOT s.id = ANY (v_seen)
      ORDER BY ((s.run_at AT TIME ZONE 'UTC') - s.priority * interval '1 second'), s.id
      LIMIT v_left
      FOR UPDATE SKIP LOCKED
    ) c;
    IF v_ids IS NULL THEN
      EXIT;
    END IF;
    IF v_flow = 0 THEN
      RETURN QUERY SELECT * FROM :TASKER_SCHEMA._start_steps(p_worker_id, v_ids, v_states);
      RETURN;
    END IF;
    v_seen := v_seen || v_ids;
    v_candidates := cardinality(v_ids);
    -- Waits first: a sleep or signal wait that cannot end yet is deferred or parked here.
    IF v_flow & 8 <> 0 THEN
      SELECT array_agg(c.id ORDER BY c.ord) FILTER (WHERE w.admitted),
        array_agg(c.state ORDER BY c.ord) FILTER (WHERE w.admitted)
      INTO v_ids, v_states
      FROM unnest(v_ids, v_states) WITH ORDINALITY AS c (id, state, ord)
      JOIN :TASKER_SCHEMA._admit_waits(v_ids) w ON w.id = c.id;
    END IF;
    IF v_ids IS NOT NULL AND v_flow & 7 <> 0 THEN
      SELECT array_agg(c.id ORDER BY c.ord) FILTER (WHERE a.admitted),
        array_agg(c.state ORDER BY c.ord) FILTER (WHERE a.admitted), v_held OR coalesce(bool_or(a.held_back), false)
      INTO v_ids, v_states, v_held
      FROM unnest(v_ids, v_states) WITH ORDINALITY AS c (id, state, ord)
      JOIN :TASKER_SCHEMA._admit_steps(v_ids, (v_flow & 7)::smallint) a ON a.id = c.id;
    END IF;
    IF v_ids IS NOT NULL THEN
      RETURN QUERY SELECT * FROM :TASKER_SCHEMA._start_steps(p_worker_id, v_ids, v_states);
      v_left := v_left - cardinality(v_ids);
    END IF;
    v_round := v_round + 1;
    -- Every candidate started: the queue is dry, as for a claim without flow control.
    EXIT WHEN v_left <= 0 OR v_round >= 4 OR coalesce(cardinality(v_ids), 0) = v_candidates;
  END LOOP;
  -- Steps left ready because another transaction held their key: claim again once this one commits.
  IF v_held THEN
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.claim_steps(uuid, integer[], integer) IS
  'Leases up to p_limit ready steps (of the given templates; NULL = any) to a worker in claim order '
  '(run_at - priority seconds), skipping rows other workers are claiming and applying concurrency keys '
  'and rate limits (parked and deferred steps are not returned). Returns claimed rows.';

-- create_tasks as in migration 13, plus p_tasks[].priority, task_key, task_limit and steps_flow
-- (computed by the library from the template and the context: flow control and waits) and
-- parent_task_id / parent_step_id (a child task).
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

-- finish_steps as in migration 2, plus: steps that started a child (22) or a batch (23) wait instead of
-- being recorded; decisions (20) skip the children they left out before anything is handed on; children
-- under flow control (19) are not started directly but go through claim_steps, which admits them.
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
  v_left integer := coalesce(p_claim_limit, 0);
BEGIN
  -- One look for the rare outcomes (children, batches, decisions); most round trips have none.
  v_special := p_outcomes @? '$[*] ? (exists(@.await_child) || exists(@.await_batch) || exists(@.skip_children))';
  -- Steps that started a child task wait for it (not an attempt); the other outcomes are recorded.
  IF v_special AND p_outcomes @? '$[*] ? (exists(@.await_child))' THEN
    PERFORM :TASKER_SCHEMA._await_children(p_worker_id, p_outcomes);
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
  'retry_delay_ms, skip_children, await_child, await_batch}] of steps it holds, then claims up to p_claim_limit ready steps (the children it just '
  'made ready first). Returns refused, retry, task (run_at = when it started) and claimed rows.';
