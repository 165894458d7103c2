-- Dispatch: registering templates, creating tasks, claiming ready steps under a lease, recording
-- outcomes (completing, retrying, failing) and handing children on, in as few round trips as possible.
--
-- Lock order, followed by every function here and in the operations migration, so that none of them can
-- deadlock with another:
--   1. in_progress step rows (finishing or reaping them), in id order;
--   2. task rows, in id order;
--   3. pending/waiting step rows of tasks already locked in 2.
-- Claiming never waits: it takes ready steps and starts their tasks with SKIP LOCKED. Operations on one
-- step (manual resolution) take the task first and the step with NOWAIT, refusing when it is busy.
--
-- Notifications (delivered at commit, so only for committed changes):
--   ':TASKER_CHANNEL:ready'  steps became ready (payload empty): idle workers claim;
--   ':TASKER_CHANNEL:task'   task state changes, JSON [[task_id, "state"], ...];
--   ':TASKER_CHANNEL:step'   step state changes, JSON [[step_id, task_id, "state"], ...];
--   ':TASKER_CHANNEL:cancel' a task was cancelled (payload: its id): workers abort its running steps.

CREATE TYPE :TASKER_SCHEMA.dispatch_row AS (
  kind text,
  step_id bigint,
  task_id bigint,
  state text,
  named_task_id integer,
  step_name text,
  attempt integer,
  attempts_base integer,
  retry_limit integer,
  timeout_ms integer,
  inputs jsonb,
  context jsonb,
  parent_results jsonb,
  correlation_id text,
  traceparent text,
  run_at timestamptz,
  task_created_at timestamptz
);
COMMENT ON TYPE :TASKER_SCHEMA.dispatch_row IS
  'What claim_steps and finish_steps return. kind = claimed (a step now leased to the caller, with all a '
  'handler needs), refused (an outcome for a lease the caller no longer holds), retry (a step waiting '
  'for retry until run_at) or task (a task that finished, with its final state).';

-- Sends a JSON array as one or more notifications, each under PostgreSQL's 8000-byte payload limit.
CREATE FUNCTION :TASKER_SCHEMA._notify_json(p_channel text, p_items jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_chunk jsonb;
BEGIN
  IF p_items IS NULL OR jsonb_array_length(p_items) = 0 THEN
    RETURN;
  END IF;
  IF octet_length(p_items::text) < 7900 THEN
    PERFORM pg_notify(p_channel, p_items::text);
    RETURN;
  END IF;
  FOR v_chunk IN
    SELECT jsonb_agg(e ORDER BY n) FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (e, n)
    GROUP BY (n - 1) / 100
  LOOP
    PERFORM pg_notify(p_channel, v_chunk::text);
  END LOOP;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._notify_json(text, jsonb) IS 'Internal: chunked NOTIFY of a JSON array.';

-- ---------------------------------------------------------------------------------------------------
-- Templates

CREATE FUNCTION :TASKER_SCHEMA.register_template(
  p_namespace text, p_name text, p_version text, p_description text, p_hash text,
  p_configuration jsonb, p_steps jsonb
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_namespace_id integer;
  v_id integer;
  v_hash text;
BEGIN
  -- One registration of a given template at a time, across processes.
  PERFORM pg_advisory_xact_lock(hashtext(:TASKER_SCHEMA_LITERAL || '/template/' || p_namespace || '/' || p_name || '@' || p_version));

  INSERT INTO :TASKER_SCHEMA.task_namespaces (name) VALUES (p_namespace) ON CONFLICT (name) DO NOTHING;
  SELECT id INTO v_namespace_id FROM :TASKER_SCHEMA.task_namespaces WHERE name = p_namespace;

  SELECT id, definition_hash INTO v_id, v_hash
  FROM :TASKER_SCHEMA.named_tasks WHERE namespace_id = v_namespace_id AND name = p_name AND version = p_version;
  IF v_id IS NOT NULL AND v_hash = p_hash THEN
    RETURN v_id;
  END IF;

  INSERT INTO :TASKER_SCHEMA.dependent_systems (name)
  SELECT DISTINCT s ->> 'dependent_system' FROM jsonb_array_elements(p_steps) AS s
  ON CONFLICT (name) DO NOTHING;
  INSERT INTO :TASKER_SCHEMA.named_steps (dependent_system_id, name, description)
  SELECT ds.id, s ->> 'name', s ->> 'description'
  FROM jsonb_array_elements(p_steps) AS s
  JOIN :TASKER_SCHEMA.dependent_systems ds ON ds.name = s ->> 'dependent_system'
  ON CONFLICT (dependent_system_id, name) DO NOTHING;

  IF v_id IS NULL THEN
    INSERT INTO :TASKER_SCHEMA.named_tasks (namespace_id, name, version, description, definition_hash, configuration)
    VALUES (v_namespace_id, p_name, p_version, p_description, p_hash, p_configuration)
    RETURNING id INTO v_id;
  ELSE
    -- A changed definition under the same version: tasks already created keep the steps they were
    -- created with; new tasks get the new structure.
    UPDATE :TASKER_SCHEMA.named_tasks
    SET definition_hash = p_hash, configuration = p_configuration, description = p_description, updated_at = now()
    WHERE id = v_id;
    DELETE FROM :TASKER_SCHEMA.named_task_steps WHERE named_task_id = v_id;
  END IF;

  INSERT INTO :TASKER_SCHEMA.named_task_steps
    (named_task_id, position, named_step_id, name, retryable, retry_limit, timeout_ms, skippable, parent_positions)
  SELECT v_id, (n - 1)::smallint, ns.id, s ->> 'name', (s ->> 'retryable')::boolean, (s ->> 'retry_limit')::integer,
    (s ->> 'timeout_ms')::integer, (s ->> 'skippable')::boolean,
    ARRAY(SELECT jsonb_array_elements_text(s -> 'parent_positions')::smallint)
  FROM jsonb_array_elements(p_steps) WITH ORDINALITY AS x (s, n)
  JOIN :TASKER_SCHEMA.dependent_systems ds ON ds.name = s ->> 'dependent_system'
  JOIN :TASKER_SCHEMA.named_steps ns ON ns.dependent_system_id = ds.id AND ns.name = s ->> 'name';
  RETURN v_id;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.register_template(text, text, text, text, text, jsonb, jsonb) IS
  'Creates or updates a task template (namespace, name, version) and its steps; returns named_tasks.id. '
  'p_steps: [{name, dependent_system, description, retryable, retry_limit, timeout_ms, skippable, '
  'parent_positions}] in position order.';

-- ---------------------------------------------------------------------------------------------------
-- Creating tasks

CREATE FUNCTION :TASKER_SCHEMA.create_tasks(p_named_task_id integer, p_tasks jsonb)
RETURNS TABLE (ord integer, task_id bigint, created boolean, state text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_step_count integer;
  v_ids bigint[];
  v_created bigint[];
  v_any_bypass boolean;
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
      bypass_steps, requested_at, identity_key, correlation_id, traceparent, step_count, unfinished_steps)
    SELECT v_ids[x.n], p_named_task_id, x.v -> 'context', x.v ->> 'initiator', x.v ->> 'source_system',
      x.v ->> 'reason',
      ARRAY(SELECT jsonb_array_elements_text(coalesce(x.v -> 'tags', '[]'))),
      ARRAY(SELECT jsonb_array_elements_text(coalesce(x.v -> 'bypass_steps', '[]'))),
      coalesce((x.v ->> 'requested_at')::timestamptz, now()),
      x.v ->> 'identity_key', x.v ->> 'correlation_id', x.v ->> 'traceparent',
      v_step_count, v_step_count - jsonb_array_length(coalesce(x.v -> 'bypass_positions', '[]'))
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
        -- correlated on x.n so that every task gets its own ids
        ARRAY(SELECT nextval(v_step_seq) FROM generate_series(1, v_step_count + 0 * x.n)) AS ids
      FROM jsonb_array_elements(p_tasks) WITH ORDINALITY AS x (v, n)
      WHERE v_ids[x.n] = ANY (v_created)
    ), s AS (
      SELECT t.task_id, t.ids, t.bypass, tpl.*,
        tpl.position = ANY (t.bypass) AS skipped,
        (SELECT count(*) FROM unnest(tpl.parent_positions) AS pp WHERE NOT pp = ANY (t.bypass))::smallint AS waiting_on
      FROM t CROSS JOIN tpl
    )
    INSERT INTO :TASKER_SCHEMA.steps (id, task_id, named_task_id, named_step_id, position, name, state,
      pending_parents, parent_ids, child_ids, run_at, retryable, retry_limit, timeout_ms, skippable, transition_count)
    SELECT s.ids[s.position + 1], s.task_id, p_named_task_id, s.named_step_id, s.position, s.name,
      CASE WHEN s.skipped THEN 'skipped' ELSE 'pending' END,
      s.waiting_on,
      ARRAY(SELECT s.ids[pp + 1] FROM unnest(s.parent_positions) AS pp),
      ARRAY(SELECT s.ids[cp + 1] FROM unnest(s.child_positions) AS cp),
      CASE WHEN NOT s.skipped AND s.waiting_on = 0 THEN now() END,
      s.retryable, s.retry_limit, s.timeout_ms, s.skippable,
      CASE WHEN s.skipped THEN 1 ELSE 0 END
    FROM s;

    SELECT bool_or(jsonb_array_length(coalesce(x.v -> 'bypass_positions', '[]')) > 0) INTO v_any_bypass
    FROM jsonb_array_elements(p_tasks) AS x (v);
    IF v_any_bypass THEN
      INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
      SELECT id, 1, 'pending', 'skipped', '{"reason": "bypassed when the task was created"}'
      FROM :TASKER_SCHEMA.steps WHERE task_id = ANY (v_created) AND state = 'skipped';
    END IF;

    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
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
  'correlation_id, traceparent}]. Returns each input''s task id, whether it was created (false: an '
  'existing task with the same identity_key, returned instead) and its state.';

-- ---------------------------------------------------------------------------------------------------
-- Claiming

-- Internal: pending -> in_progress for tasks whose first step starts. SKIP LOCKED: a task locked by
-- someone else is started by them or when its steps finish (_finish_tasks starts it first).
CREATE FUNCTION :TASKER_SCHEMA._start_tasks(p_task_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_changes jsonb;
BEGIN
  WITH t AS (
    SELECT id FROM :TASKER_SCHEMA.tasks WHERE id = ANY (p_task_ids) AND state = 'pending'
    ORDER BY id FOR UPDATE SKIP LOCKED
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
COMMENT ON FUNCTION :TASKER_SCHEMA._start_tasks(bigint[]) IS 'Internal: marks tasks in_progress when a step starts.';

-- Internal: leases the given ready steps (already locked by the caller) to a worker and returns what
-- their handlers need.
CREATE FUNCTION :TASKER_SCHEMA._start_steps(p_worker_id uuid, p_ids bigint[], p_from_states text[])
RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql AS $$
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
      updated_at = now(), transition_count = s.transition_count + 1
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

CREATE FUNCTION :TASKER_SCHEMA.claim_steps(p_worker_id uuid, p_named_task_ids integer[], p_limit integer)
RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  v_states text[];
BEGIN
  IF p_limit IS NULL OR p_limit <= 0 THEN
    RETURN;
  END IF;
  SELECT array_agg(c.id), array_agg(c.state) INTO v_ids, v_states FROM (
    SELECT s.id, s.state::text AS state FROM :TASKER_SCHEMA.steps s
    WHERE s.pending_parents = 0 AND s.state IN ('pending', 'waiting_for_retry') AND s.run_at <= now()
      AND (p_named_task_ids IS NULL OR s.named_task_id = ANY (p_named_task_ids))
    ORDER BY s.run_at, s.id
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ) c;
  RETURN QUERY SELECT * FROM :TASKER_SCHEMA._start_steps(p_worker_id, v_ids, v_states);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.claim_steps(uuid, integer[], integer) IS
  'Leases up to p_limit ready steps (of the given templates; NULL = any) to a worker, oldest run_at '
  'first, skipping rows other workers are claiming. Returns claimed rows.';

CREATE FUNCTION :TASKER_SCHEMA.next_run_at(p_named_task_ids integer[]) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT s.run_at FROM :TASKER_SCHEMA.steps s
  WHERE s.pending_parents = 0 AND s.state IN ('pending', 'waiting_for_retry')
    AND (p_named_task_ids IS NULL OR s.named_task_id = ANY (p_named_task_ids))
  ORDER BY s.run_at, s.id LIMIT 1
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.next_run_at(integer[]) IS
  'When the next step becomes claimable (NULL: none queued). Idle workers sleep until then.';

-- ---------------------------------------------------------------------------------------------------
-- Recording outcomes

-- Internal: finishes tasks whose unfinished_steps reached 0 (rows locked by the caller).
CREATE FUNCTION :TASKER_SCHEMA._finish_tasks(p_task_ids bigint[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_finished jsonb;
BEGIN
  PERFORM :TASKER_SCHEMA._start_tasks(p_task_ids);
  WITH u AS (
    UPDATE :TASKER_SCHEMA.tasks t
    SET state = CASE WHEN t.failed_steps > 0 THEN 'error' ELSE 'complete' END,
      completed_at = now(), updated_at = now(), transition_count = t.transition_count + 1
    WHERE t.id = ANY (p_task_ids) AND t.state = 'in_progress' AND t.unfinished_steps = 0
    RETURNING t.id, t.state::text AS state, t.transition_count
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.task_transitions (task_id, sort_key, from_state, to_state, metadata)
    SELECT u.id, u.transition_count, 'in_progress', u.state,
      CASE WHEN u.state = 'complete' THEN '{"reason": "all steps complete"}'::jsonb
      ELSE jsonb_build_object('reason', 'steps failed', 'failed_steps', (
        SELECT jsonb_agg(s.name ORDER BY s.position) FROM :TASKER_SCHEMA.steps s
        WHERE s.task_id = u.id AND s.state = 'error')) END
    FROM u
  )
  SELECT jsonb_agg(jsonb_build_array(u.id, u.state)) INTO v_finished FROM u;
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:task', v_finished);
  RETURN v_finished;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._finish_tasks(bigint[]) IS
  'Internal: moves tasks with no unfinished steps to complete, or to error when a step failed for good.';

-- Internal: records step outcomes. Each outcome is applied only while its step is still in_progress
-- under the lease it was claimed with (same worker, same attempt); others are returned as refused.
-- Completed steps hand on to their children in the same transaction; a step that failed for good
-- blocks every pending step below it, and the task finishes when nothing else can run.
CREATE FUNCTION :TASKER_SCHEMA._record_outcomes(
  p_outcomes jsonb, p_worker_id uuid,
  OUT refused bigint[], OUT ready bigint[], OUT retrying jsonb, OUT finished jsonb
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_held bigint[];
  v_completed bigint[];
  v_failed bigint[];
  v_blocked_tasks bigint[];
  v_finishing bigint[];
  v_changes jsonb;
BEGIN
  -- 1. The steps still held under the lease each outcome names, locked in id order.
  SELECT array_agg(h.id ORDER BY h.id) INTO v_held FROM (
    SELECT s.id FROM :TASKER_SCHEMA.steps s
    JOIN jsonb_to_recordset(p_outcomes) AS o (step_id bigint, attempt integer, worker_id uuid)
      ON o.step_id = s.id AND o.attempt = s.attempts
    WHERE s.state = 'in_progress' AND s.worker_id = coalesce(p_worker_id, o.worker_id)
    ORDER BY s.id FOR UPDATE OF s
  ) h;
  SELECT array_agg(o.step_id) INTO refused
  FROM jsonb_to_recordset(p_outcomes) AS o (step_id bigint)
  WHERE v_held IS NULL OR NOT o.step_id = ANY (v_held);
  IF v_held IS NULL THEN
    RETURN;
  END IF;

  -- 2. Their tasks, in id order.
  PERFORM 1 FROM :TASKER_SCHEMA.tasks t
  WHERE t.id IN (SELECT s.task_id FROM :TASKER_SCHEMA.steps s WHERE s.id = ANY (v_held))
  ORDER BY t.id FOR UPDATE OF t;

  -- 3. The outcomes.
  WITH o AS (
    SELECT * FROM jsonb_to_recordset(p_outcomes)
      AS o (step_id bigint, ok boolean, results jsonb, error jsonb, permanent boolean, retry_delay_ms integer)
  ), d AS (
    SELECT s.id, o.ok, o.results, o.error, o.retry_delay_ms,
      CASE WHEN o.ok THEN 'complete'
        WHEN t.state = 'cancelled' THEN 'cancelled'
        WHEN NOT coalesce(o.permanent, false) AND s.retryable AND s.attempts - s.attempts_base < s.retry_limit
          THEN 'waiting_for_retry'
        ELSE 'error' END AS to_state
    FROM :TASKER_SCHEMA.steps s
    JOIN o ON o.step_id = s.id
    JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
    WHERE s.id = ANY (v_held)
  ), u AS (
    UPDATE :TASKER_SCHEMA.steps s SET
      state = d.to_state,
      results = CASE WHEN d.ok THEN coalesce(d.results, 'null'::jsonb) ELSE s.results END,
      last_error = CASE WHEN d.ok THEN s.last_error ELSE d.error END,
      run_at = CASE WHEN d.to_state = 'waiting_for_retry'
        THEN now() + make_interval(secs => coalesce(d.retry_delay_ms, 0) / 1000.0) ELSE s.run_at END,
      backoff_request_seconds = CASE WHEN d.to_state = 'waiting_for_retry'
        THEN coalesce(d.retry_delay_ms, 0) / 1000.0 ELSE s.backoff_request_seconds END,
      completed_at = CASE WHEN d.to_state IN ('complete', 'error', 'cancelled') THEN now() END,
      updated_at = now(),
      transition_count = s.transition_count + 1
    FROM d WHERE s.id = d.id
    RETURNING s.id, s.task_id, s.transition_count, s.attempts, s.run_at, d.to_state, d.error
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT u.id, u.transition_count, 'in_progress', u.to_state,
      CASE u.to_state
        WHEN 'complete' THEN jsonb_build_object('attempt', u.attempts)
        WHEN 'waiting_for_retry' THEN jsonb_build_object('attempt', u.attempts, 'error', u.error, 'retry_at', u.run_at)
        ELSE jsonb_build_object('attempt', u.attempts, 'error', u.error) END
    FROM u
  )
  SELECT array_agg(u.id) FILTER (WHERE u.to_state = 'complete'),
    array_agg(u.id) FILTER (WHERE u.to_state = 'error'),
    jsonb_agg(jsonb_build_array(u.id, u.task_id, u.run_at)) FILTER (WHERE u.to_state = 'waiting_for_retry'),
    jsonb_agg(jsonb_build_array(u.id, u.task_id, u.to_state))
  INTO v_completed, v_failed, retrying, v_changes
  FROM u;
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);

  -- 4. Hand-off: children of completed steps have one parent fewer to wait for. (Their tasks are locked,
  --    and claimers never hold a step that still waits on a parent, so no lock order is needed here.)
  IF v_completed IS NOT NULL THEN
    WITH d AS (
      SELECT c.id, count(*)::smallint AS n
      FROM :TASKER_SCHEMA.steps s CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
      WHERE s.id = ANY (v_completed) GROUP BY c.id
    ), u AS (
      UPDATE :TASKER_SCHEMA.steps s
      SET pending_parents = s.pending_parents - d.n,
        run_at = CASE WHEN s.pending_parents - d.n = 0 THEN now() ELSE s.run_at END,
        updated_at = now()
      FROM d WHERE s.id = d.id
      RETURNING s.id, s.pending_parents, s.state
    )
    SELECT array_agg(u.id ORDER BY u.id) FILTER (WHERE u.pending_parents = 0 AND u.state = 'pending')
    INTO ready FROM u;
  END IF;

  -- 5. A step that failed for good: every pending step below it can never run.
  IF v_failed IS NOT NULL THEN
    WITH RECURSIVE below (id) AS (
      SELECT c.id FROM :TASKER_SCHEMA.steps s CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
      WHERE s.id = ANY (v_failed)
      UNION
      SELECT c.id FROM below b
      JOIN :TASKER_SCHEMA.steps s ON s.id = b.id AND s.state = 'pending'
      CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
    ), u AS (
      UPDATE :TASKER_SCHEMA.steps s SET blocked = true, updated_at = now()
      FROM below b WHERE s.id = b.id AND s.state = 'pending' AND NOT s.blocked
      RETURNING s.task_id
    )
    SELECT array_agg(u.task_id) INTO v_blocked_tasks FROM u;
  END IF;

  -- 6. Task progress, and tasks with nothing left to run finish.
  WITH delta AS (
    SELECT x.task_id, sum(x.done)::integer AS done, sum(x.failed)::integer AS failed FROM (
      SELECT s.task_id, 1 AS done, (s.state = 'error')::integer AS failed
      FROM :TASKER_SCHEMA.steps s
      WHERE s.id = ANY (coalesce(v_completed, '{}') || coalesce(v_failed, '{}'))
      UNION ALL
      SELECT b.task_id, 1, 0 FROM unnest(v_blocked_tasks) AS b (task_id)
    ) x GROUP BY x.task_id
  ), u AS (
    UPDATE :TASKER_SCHEMA.tasks t
    SET unfinished_steps = t.unfinished_steps - d.done, failed_steps = t.failed_steps + d.failed, updated_at = now()
    FROM delta d WHERE t.id = d.task_id
    RETURNING t.id, t.unfinished_steps, t.state
  )
  SELECT array_agg(u.id) FILTER (WHERE u.unfinished_steps = 0 AND u.state IN ('pending', 'in_progress'))
  INTO v_finishing FROM u;

  IF v_finishing IS NOT NULL THEN
    finished := :TASKER_SCHEMA._finish_tasks(v_finishing);
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid) IS
  'Internal: applies step outcomes [{step_id, attempt, worker_id?, ok, results, error, permanent, '
  'retry_delay_ms}] under their leases; returns refused step ids, children made ready, retries '
  '[[step_id, task_id, run_at]] and finished tasks [[task_id, state]].';

CREATE FUNCTION :TASKER_SCHEMA.finish_steps(
  p_worker_id uuid, p_outcomes jsonb, p_claim_limit integer DEFAULT 0, p_named_task_ids integer[] DEFAULT NULL
) RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_claim bigint[];
  v_left integer := coalesce(p_claim_limit, 0);
BEGIN
  SELECT * INTO r FROM :TASKER_SCHEMA._record_outcomes(p_outcomes, p_worker_id);

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
  FROM jsonb_array_elements(r.finished) AS e JOIN :TASKER_SCHEMA.tasks t ON t.id = (e ->> 0)::bigint;

  -- The children this worker made ready go to this worker first: no round trip, no wake-up.
  IF r.ready IS NOT NULL AND v_left > 0 THEN
    SELECT array_agg(c.id ORDER BY c.id) INTO v_claim FROM (
      SELECT s.id FROM :TASKER_SCHEMA.steps s
      WHERE s.id = ANY (r.ready) AND (p_named_task_ids IS NULL OR s.named_task_id = ANY (p_named_task_ids))
      ORDER BY s.id LIMIT v_left
    ) c;
    IF v_claim IS NOT NULL THEN
      RETURN QUERY SELECT * FROM :TASKER_SCHEMA._start_steps(p_worker_id, v_claim,
        array_fill('pending'::text, ARRAY[cardinality(v_claim)]));
      v_left := v_left - cardinality(v_claim);
    END IF;
  END IF;
  IF r.ready IS NOT NULL AND cardinality(r.ready) > coalesce(cardinality(v_claim), 0) THEN
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  END IF;
  IF v_left > 0 THEN
    RETURN QUERY SELECT * FROM :TASKER_SCHEMA.claim_steps(p_worker_id, p_named_task_ids, v_left);
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[]) IS
  'A worker''s round trip: records outcomes [{step_id, attempt, ok, results, error, permanent, '
  'retry_delay_ms}] of steps it holds, then claims up to p_claim_limit ready steps (the children it just '
  'made ready first). Returns refused, retry, task (run_at = when it started) and claimed rows.';

-- ---------------------------------------------------------------------------------------------------
-- Workers and leases

CREATE FUNCTION :TASKER_SCHEMA.register_worker(
  p_worker_id uuid, p_name text, p_hostname text, p_pid integer, p_concurrency integer, p_namespaces text[],
  p_lease_ms integer
) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO :TASKER_SCHEMA.workers (id, name, hostname, pid, concurrency, namespaces, lease_ms)
  VALUES (p_worker_id, p_name, p_hostname, p_pid, p_concurrency, p_namespaces, p_lease_ms)
  ON CONFLICT (id) DO UPDATE SET last_heartbeat_at = now(), stopped_at = NULL, stop_reason = NULL
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.register_worker(uuid, text, text, integer, integer, text[], integer) IS
  'Records a worker as alive. Its heartbeat must follow within lease_ms, or its steps are taken back.';

CREATE FUNCTION :TASKER_SCHEMA.heartbeat(p_worker_id uuid, p_running bigint[])
RETURNS TABLE (step_id bigint, reason text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  UPDATE :TASKER_SCHEMA.workers
  SET last_heartbeat_at = now(), stopped_at = NULL, stop_reason = NULL
  WHERE id = p_worker_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'worker % is not registered', p_worker_id USING ERRCODE = 'TKW01';
  END IF;
  RETURN QUERY
  SELECT s.id, CASE WHEN t.state = 'cancelled' THEN 'task_cancelled' ELSE 'lease_lost' END
  FROM :TASKER_SCHEMA.steps s JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
  WHERE s.id = ANY (p_running)
    AND (s.state <> 'in_progress' OR s.worker_id IS DISTINCT FROM p_worker_id OR t.state = 'cancelled');
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.heartbeat(uuid, bigint[]) IS
  'Renews a worker''s leases (one row update, whatever it runs) and returns which of the steps it runs '
  'it should abort: taken back (lease_lost) or belonging to a cancelled task.';

CREATE FUNCTION :TASKER_SCHEMA.reap_lost_steps() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_outcomes jsonb;
  r record;
BEGIN
  WITH dead AS (
    SELECT id FROM :TASKER_SCHEMA.workers
    WHERE stopped_at IS NULL AND last_heartbeat_at < now() - make_interval(secs => lease_ms / 1000.0)
    FOR UPDATE SKIP LOCKED
  )
  UPDATE :TASKER_SCHEMA.workers w SET stopped_at = now(), stop_reason = 'heartbeat lost'
  FROM dead WHERE w.id = dead.id;

  SELECT jsonb_agg(jsonb_build_object(
    'step_id', s.id, 'attempt', s.attempts, 'worker_id', s.worker_id, 'ok', false, 'permanent', false,
    'retry_delay_ms', 0,
    'error', jsonb_build_object('class', 'LeaseExpiredError',
      'message', format('worker %s (%s) stopped sending heartbeats while running this step', w.name, w.id))))
  INTO v_outcomes
  FROM :TASKER_SCHEMA.steps s JOIN :TASKER_SCHEMA.workers w ON w.id = s.worker_id
  WHERE s.state = 'in_progress' AND w.stopped_at IS NOT NULL;
  IF v_outcomes IS NULL THEN
    RETURN 0;
  END IF;
  SELECT * INTO r FROM :TASKER_SCHEMA._record_outcomes(v_outcomes, NULL);
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  RETURN jsonb_array_length(v_outcomes) - coalesce(cardinality(r.refused), 0);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.reap_lost_steps() IS
  'Takes back the steps of workers whose heartbeat is older than their lease: each counts a failed '
  'attempt (LeaseExpiredError) and is retried at once, or fails when it has no attempts left. Returns '
  'how many steps were taken back. Any worker may call it; concurrent calls share the work.';

CREATE FUNCTION :TASKER_SCHEMA.release_steps(p_worker_id uuid, p_step_ids bigint[], p_reason text)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_count integer;
  v_changes jsonb;
BEGIN
  WITH h AS (
    SELECT s.id FROM :TASKER_SCHEMA.steps s
    WHERE s.worker_id = p_worker_id AND s.state = 'in_progress'
      AND (p_step_ids IS NULL OR s.id = ANY (p_step_ids))
    ORDER BY s.id FOR UPDATE
  ), u AS (
    UPDATE :TASKER_SCHEMA.steps s
    SET state = 'waiting_for_retry', attempts = s.attempts - 1, run_at = now(), updated_at = now(),
      transition_count = s.transition_count + 1
    FROM h WHERE s.id = h.id
    RETURNING s.id, s.task_id, s.transition_count, s.attempts
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT id, transition_count, 'in_progress', 'waiting_for_retry',
      jsonb_build_object('reason', p_reason, 'released', true, 'worker_id', p_worker_id, 'attempt', attempts + 1)
    FROM u
  )
  SELECT count(*)::integer, jsonb_agg(jsonb_build_array(id, task_id, 'waiting_for_retry')) INTO v_count, v_changes FROM u;
  IF v_count > 0 THEN
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
    PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);
  END IF;
  RETURN v_count;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.release_steps(uuid, bigint[], text) IS
  'Gives back steps a worker holds without charging the attempt (graceful shutdown): they are claimable '
  'again at once. NULL step ids = all of the worker''s.';

CREATE FUNCTION :TASKER_SCHEMA.stop_worker(p_worker_id uuid, p_reason text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_released integer;
BEGIN
  v_released := :TASKER_SCHEMA.release_steps(p_worker_id, NULL, p_reason);
  UPDATE :TASKER_SCHEMA.workers SET stopped_at = now(), stop_reason = p_reason WHERE id = p_worker_id;
  RETURN v_released;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.stop_worker(uuid, text) IS
  'Marks a worker stopped and releases the steps it still holds; returns how many were released.';
