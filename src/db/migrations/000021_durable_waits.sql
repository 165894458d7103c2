-- Durable waits (issue 9, second part): a step of kind `sleep` waits for a duration or until a time; a
-- step of kind `signal` waits for a named signal sent to its task (send_signal), optionally with a
-- timeout. Neither holds a worker slot while it waits: the claim (flow_control bit 8) defers a sleep to
-- its wake time like a rate-limited step, and parks a signal wait (parked_on = 'signal:<task>:<name>')
-- until the signal wakes it, or defers it to its timeout. A signal sent before its step waits is kept in
-- `signals` and taken when the step is claimed. When a wait ends the step runs the built-in handler
-- `tasker:wait`, which returns the signal's payload (or the time slept) as the step's results, or fails
-- on a timeout. The wait is one `step.throttled` audit row, however long it lasts.

ALTER TABLE :TASKER_SCHEMA.steps
  ADD COLUMN wait jsonb,
  ADD COLUMN waiting_since timestamptz;
COMMENT ON COLUMN :TASKER_SCHEMA.steps.wait IS
  'A wait step: {sleep_ms} or {until} (sleep), or {signal, timeout_ms, timeout_retryable} (signal).';
COMMENT ON COLUMN :TASKER_SCHEMA.steps.waiting_since IS 'When its current wait began (NULL: not waiting).';

CREATE TABLE :TASKER_SCHEMA.signals (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id bigint NOT NULL REFERENCES :TASKER_SCHEMA.tasks (id) ON DELETE CASCADE,
  name varchar(128) NOT NULL,
  payload jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  consumed_by bigint,
  consumed_at timestamptz
);
COMMENT ON TABLE :TASKER_SCHEMA.signals IS
  'Signals sent to tasks (send_signal): each is taken, oldest first, by one step of the task that waits for '
  'its name (consumed_by), whether it was sent before or while the step waited.';
CREATE INDEX signals_unconsumed ON :TASKER_SCHEMA.signals (task_id, name, id) WHERE consumed_by IS NULL;
CREATE INDEX signals_task ON :TASKER_SCHEMA.signals (task_id);

-- Sends a signal: refused for a task that does not exist (TKNF1) or has finished (TKOP1). The steps of
-- the task that wait for it are locked first, so a claim that is about to park one either sees the
-- signal or is seen parked and woken here.
CREATE FUNCTION :TASKER_SCHEMA.send_signal(p_task_id bigint, p_name text, p_payload jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_state text;
  v_id bigint;
  v_waiting bigint[];
BEGIN
  SELECT state INTO v_state FROM :TASKER_SCHEMA.tasks WHERE id = p_task_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'task % does not exist', p_task_id USING ERRCODE = 'TKNF1';
  END IF;
  IF v_state NOT IN ('pending', 'in_progress') THEN
    RAISE EXCEPTION 'task % is %: it takes no more signals', p_task_id, v_state USING ERRCODE = 'TKOP1';
  END IF;
  SELECT array_agg(s.id ORDER BY s.id) INTO v_waiting FROM (
    SELECT s.id FROM :TASKER_SCHEMA.steps s
    WHERE s.task_id = p_task_id AND s.state IN ('pending', 'waiting_for_retry') AND s.wait ->> 'signal' = p_name
    ORDER BY s.id FOR UPDATE
  ) s;
  INSERT INTO :TASKER_SCHEMA.signals (task_id, name, payload) VALUES (p_task_id, p_name, p_payload)
  RETURNING id INTO v_id;
  IF v_waiting IS NOT NULL THEN
    UPDATE :TASKER_SCHEMA.steps SET parked_on = NULL, run_at = least(run_at, now()), updated_at = now()
    WHERE id = ANY (v_waiting) AND waiting_since IS NOT NULL AND pending_parents = 0;
    IF FOUND THEN
      PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
    END IF;
  END IF;
  RETURN v_id;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.send_signal(bigint, text, jsonb) IS
  'Sends a named signal with a payload to a task; a step waiting for it is woken, one not yet waiting '
  'takes it when it gets there. Returns the signal id.';

-- Internal: which of the locked candidate wait steps may end now. Sleeps end at their time; signal
-- waits end with a signal (taken here) or at their timeout (the built-in handler then fails). The step's
-- inputs tell the built-in handler which.
CREATE FUNCTION :TASKER_SCHEMA._admit_waits(p_ids bigint[])
RETURNS TABLE (id bigint, admitted boolean)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_wake timestamptz;
  v_since timestamptz;
  v_payload jsonb;
  v_signal bigint;
BEGIN
  FOR r IN
    SELECT s.id, s.task_id, s.wait, s.waiting_since FROM unnest(p_ids) AS u (id)
    JOIN :TASKER_SCHEMA.steps s ON s.id = u.id
  LOOP
    id := r.id;
    IF r.wait IS NULL THEN
      admitted := true; RETURN NEXT; CONTINUE;
    END IF;
    v_since := coalesce(r.waiting_since, now());
    IF r.wait ? 'signal' THEN
      UPDATE :TASKER_SCHEMA.signals g SET consumed_by = r.id, consumed_at = now()
      WHERE g.id = (SELECT x.id FROM :TASKER_SCHEMA.signals x
        WHERE x.task_id = r.task_id AND x.name = r.wait ->> 'signal' AND x.consumed_by IS NULL
        ORDER BY x.id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING g.id, g.payload INTO v_signal, v_payload;
      IF v_signal IS NOT NULL THEN
        UPDATE :TASKER_SCHEMA.steps SET inputs = jsonb_build_object('signal', r.wait ->> 'signal',
          'payload', v_payload, 'signal_id', v_signal) WHERE steps.id = r.id;
        admitted := true; RETURN NEXT; CONTINUE;
      END IF;
      v_wake := v_since + make_interval(secs => (r.wait ->> 'timeout_ms')::double precision / 1000);
      IF v_wake <= now() THEN
        UPDATE :TASKER_SCHEMA.steps SET inputs = jsonb_build_object('signal', r.wait ->> 'signal',
          'timed_out', true, 'timeout_ms', (r.wait ->> 'timeout_ms')::bigint,
          'retryable', coalesce((r.wait ->> 'timeout_retryable')::boolean, false)) WHERE steps.id = r.id;
        admitted := true; RETURN NEXT; CONTINUE;
      END IF;
      -- Wait: until the timeout (deferred), or until a signal wakes it (parked).
      UPDATE :TASKER_SCHEMA.steps SET waiting_since = v_since, run_at = coalesce(v_wake, run_at),
        parked_on = CASE WHEN v_wake IS NULL THEN 'signal:' || r.task_id || ':' || (r.wait ->> 'signal') END
      WHERE steps.id = r.id;
      PERFORM :TASKER_SCHEMA._throttle_steps(ARRAY[r.id],
        ARRAY[CASE WHEN v_wake IS NULL THEN 'signal:' || r.task_id || ':' || (r.wait ->> 'signal') END],
        ARRAY[jsonb_build_object('waiting_for', 'signal', 'signal', r.wait ->> 'signal', 'timeout_at', v_wake)]);
      IF v_wake IS NOT NULL THEN
        PERFORM pg_notify(':TASKER_CHANNEL:ready', (floor(extract(epoch FROM v_wake) * 1000))::bigint::text);
      END IF;
      admitted := false; RETURN NEXT; CONTINUE;
    END IF;
    -- A sleep.
    v_wake := coalesce((r.wait ->> 'until')::timestamptz,
      v_since + make_interval(secs => (r.wait ->> 'sleep_ms')::double precision / 1000));
    IF v_wake <= now() THEN
      UPDATE :TASKER_SCHEMA.steps SET inputs = jsonb_build_object('slept_until', v_wake) WHERE steps.id = r.id;
      admitted := true; RETURN NEXT; CONTINUE;
    END IF;
    UPDATE :TASKER_SCHEMA.steps SET waiting_since = v_since, run_at = v_wake WHERE steps.id = r.id;
    PERFORM :TASKER_SCHEMA._throttle_steps(ARRAY[r.id], ARRAY[NULL::text],
      ARRAY[jsonb_build_object('waiting_for', 'sleep', 'until', v_wake)]);
    PERFORM pg_notify(':TASKER_CHANNEL:ready', (floor(extract(epoch FROM v_wake) * 1000))::bigint::text);
    admitted := false; RETURN NEXT;
  END LOOP;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._admit_waits(bigint[]) IS
  'Internal: ends the waits of locked candidate steps that can end now; defers or parks the others.';

-- _start_steps as in migration 19; a step that starts is no longer waiting.
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

-- claim_steps as in migration 19, with waits (flow_control bit 8) admitted first.
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

-- create_tasks as in migration 19, plus steps_flow[].wait (bit 8 of flow_control).
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
      priority, concurrency_key, concurrency_limit)
    SELECT v_ids[x.n], p_named_task_id, x.v -> 'context', x.v ->> 'initiator', x.v ->> 'source_system',
      x.v ->> 'reason',
      ARRAY(SELECT jsonb_array_elements_text(coalesce(x.v -> 'tags', '[]'))),
      ARRAY(SELECT jsonb_array_elements_text(coalesce(x.v -> 'bypass_steps', '[]'))),
      coalesce((x.v ->> 'requested_at')::timestamptz, now()),
      x.v ->> 'identity_key', x.v ->> 'correlation_id', x.v ->> 'traceparent',
      v_step_count, v_step_count - jsonb_array_length(coalesce(x.v -> 'bypass_positions', '[]')),
      (x.v ->> 'run_at')::timestamptz,
      coalesce((x.v ->> 'priority')::integer, 0), x.v ->> 'task_key', (x.v ->> 'task_limit')::integer
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
  'key; steps_flow maps a step position to {key, limit, rate_limits: [{name, units}], wait}. Returns each input''s '
  'task id, whether it was created (false: an existing task with the same identity_key, returned '
  'instead) and its state.';
