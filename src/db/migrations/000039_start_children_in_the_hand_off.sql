-- A child handed on starts in the statement that makes it ready (issue 13: the idle hand-off, and chains).
-- When an outcome completed a step and made its child ready, finish_steps wrote the child twice: the
-- hand-off's update (one parent fewer: ready now) and, two statements later, its lease (_start_steps:
-- in_progress, attempt + 1), after a third statement that picked the children to start. Two row versions
-- of the child, each with its index entries (the first also in the claim order's index, where claims then
-- step over it), and two statements more per hand-off. Now _record_outcomes leases the children it makes
-- ready in the hand-off's own update, up to the room finish_steps gives it (p_start_limit), in id order,
-- to the worker that sent the outcomes, and returns them as started; finish_steps returns their claimed
-- rows as before. Only the children the long way would have started in line: pending with no parent left
-- to wait for, without flow control (keys, rate limits and waits go through claim_steps), of the templates
-- the worker serves, in a task in progress (locked since _record_outcomes' step 2). A decision may skip
-- children its outcome made ready, so round trips with decisions, batches or child tasks (the rare
-- outcomes) start nothing there and go the long way; so do the other callers of _record_outcomes
-- (operations, reaping), which pass no limit. The audit trail is the same: the child's one row, pending ->
-- in_progress, with its attempt and worker.

DROP FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid);

-- What a worker needs to run the steps it has just leased: one claimed row each (the end of _start_steps
-- until now).
CREATE FUNCTION :TASKER_SCHEMA._claimed_rows(p_ids bigint[]) RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE sql STABLE AS $$
SELECT 'claimed'::text, s.id, s.task_id, 'in_progress'::text, s.named_task_id, s.name::text, s.attempts,
  s.attempts_base, s.retry_limit, s.timeout_ms, s.inputs, t.context,
  CASE WHEN cardinality(s.parent_ids) = 0 THEN '{}'::jsonb ELSE (
    SELECT coalesce(jsonb_object_agg(p.name, p.results), '{}'::jsonb)
    FROM :TASKER_SCHEMA.steps p WHERE p.id = ANY (s.parent_ids) AND p.state <> 'skipped') END,
  t.correlation_id::text, t.traceparent::text, s.run_at, t.created_at, s.concurrency_key::text,
  s.concurrency_limit
FROM :TASKER_SCHEMA.steps s JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
WHERE s.id = ANY (p_ids)
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA._claimed_rows(bigint[]) IS
  'Internal: the claimed rows (all a handler needs: inputs, context, parents'' results) of steps just leased.';

-- _start_steps as in migration 36, its rows from _claimed_rows.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA._start_steps(
  p_worker_id uuid, p_ids bigint[], p_from_states text[], p_tasks_started boolean DEFAULT false
)
RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
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

  IF NOT coalesce(p_tasks_started, false) THEN
    PERFORM :TASKER_SCHEMA._start_tasks(v_task_ids);
  END IF;
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);

  RETURN QUERY SELECT * FROM :TASKER_SCHEMA._claimed_rows(p_ids);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[], boolean) IS
  'Internal: leases locked ready steps to a worker (in_progress, attempt + 1, audit row) and returns them; '
  'their tasks start too unless the caller knows them started (p_tasks_started).';

-- _record_outcomes as in migration 37, with the children it makes ready started in the hand-off.
CREATE FUNCTION :TASKER_SCHEMA._record_outcomes(
  p_outcomes jsonb, p_worker_id uuid, p_start_limit integer DEFAULT 0, p_named_task_ids integer[] DEFAULT NULL,
  OUT refused bigint[], OUT ready bigint[], OUT retrying jsonb, OUT finished jsonb, OUT started bigint[]
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
AS $$
#variable_conflict use_column
DECLARE
  v_held bigint[];
  v_completed bigint[];
  v_failed bigint[];
  v_blocked_tasks bigint[];
  v_finishing bigint[];
  v_changes jsonb;
  v_more jsonb;
  v_ids bigint[];
  v_by_id jsonb;
  v_started_changes jsonb;
BEGIN
  -- The outcomes by step id: the statements below read a step's outcome by key, never by a join with the
  -- outcomes' rows (see migration 37).
  SELECT array_agg((x.v ->> 'step_id')::bigint), jsonb_object_agg(x.v ->> 'step_id', x.v)
  INTO v_ids, v_by_id FROM jsonb_array_elements(p_outcomes) AS x (v);

  -- 1. The steps still held under the lease each outcome names, locked in id order. (Found by id, the
  --    lease checked by key; the state is no index condition: see migration 37.)
  SELECT array_agg(h.id ORDER BY h.id) INTO v_held FROM (
    SELECT s.id FROM :TASKER_SCHEMA.steps s
    WHERE s.id = ANY (v_ids)
      AND s.attempts = (v_by_id -> s.id::text ->> 'attempt')::integer
      AND s.worker_id = coalesce(p_worker_id, (v_by_id -> s.id::text ->> 'worker_id')::uuid)
      AND s.state || '' = 'in_progress'
    ORDER BY s.id FOR UPDATE OF s
  ) h;
  SELECT array_agg(o.step_id) INTO refused
  FROM unnest(v_ids) AS o (step_id)
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
    -- (A JSON null reads as SQL NULL, as jsonb_to_recordset read it.)
    SELECT s.id, s.task_id, s.retryable, s.attempts, s.attempts_base, s.retry_limit,
      (x.v ->> 'ok')::boolean AS ok, nullif(x.v -> 'results', 'null') AS results,
      nullif(x.v -> 'error', 'null') AS error, (x.v ->> 'permanent')::boolean AS permanent,
      (x.v ->> 'retry_delay_ms')::integer AS retry_delay_ms
    FROM :TASKER_SCHEMA.steps s CROSS JOIN LATERAL (SELECT v_by_id -> s.id::text AS v) x
    WHERE s.id = ANY (v_held)
  ), d AS (
    SELECT o.id, o.ok, o.results, o.error, o.retry_delay_ms,
      CASE WHEN o.ok THEN 'complete'
        WHEN t.state = 'cancelled' THEN 'cancelled'
        WHEN NOT coalesce(o.permanent, false) AND o.retryable AND o.attempts - o.attempts_base < o.retry_limit
          THEN 'waiting_for_retry'
        ELSE 'error' END AS to_state
    FROM o JOIN :TASKER_SCHEMA.tasks t ON t.id = o.task_id
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

  -- 4. Hand-off: children of completed steps have one parent fewer to wait for. (Their tasks are locked,
  --    and claimers never hold a step that still waits on a parent, so no lock order is needed here.) Up to
  --    p_start_limit of those made ready, in id order, are leased to p_worker_id in the same update (which
  --    ones: see the top of migration 39); the others are returned as ready.
  IF v_completed IS NOT NULL THEN
    WITH d AS (
      SELECT c.id, count(*)::smallint AS n
      FROM :TASKER_SCHEMA.steps s CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
      WHERE s.id = ANY (v_completed) GROUP BY c.id
    ), st AS (
      SELECT c.id FROM d
      JOIN :TASKER_SCHEMA.steps c ON c.id = d.id
      JOIN :TASKER_SCHEMA.tasks t ON t.id = c.task_id
      WHERE coalesce(p_start_limit, 0) > 0 AND p_worker_id IS NOT NULL
        AND c.pending_parents = d.n AND c.state || '' = 'pending' AND c.flow_control = 0
        AND (p_named_task_ids IS NULL OR c.named_task_id = ANY (p_named_task_ids))
        AND t.state = 'in_progress'
      ORDER BY c.id LIMIT greatest(coalesce(p_start_limit, 0), 0)
    ), u AS (
      UPDATE :TASKER_SCHEMA.steps s
      SET pending_parents = s.pending_parents - d.n,
        run_at = CASE WHEN s.pending_parents - d.n = 0 THEN now() ELSE s.run_at END,
        updated_at = now(),
        state = CASE WHEN st.id IS NULL THEN s.state ELSE 'in_progress' END,
        attempts = s.attempts + (st.id IS NOT NULL)::integer,
        worker_id = CASE WHEN st.id IS NULL THEN s.worker_id ELSE p_worker_id END,
        last_attempted_at = CASE WHEN st.id IS NULL THEN s.last_attempted_at ELSE now() END,
        transition_count = s.transition_count + (st.id IS NOT NULL)::integer,
        throttled_at = CASE WHEN st.id IS NULL THEN s.throttled_at END,
        waiting_since = CASE WHEN st.id IS NULL THEN s.waiting_since END
      FROM d LEFT JOIN st ON st.id = d.id WHERE s.id = d.id
      RETURNING s.id, s.task_id, s.pending_parents, s.state, s.transition_count, s.attempts,
        st.id IS NOT NULL AS started
    ), tr AS (
      INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
      SELECT u.id, u.transition_count, 'pending', 'in_progress',
        jsonb_build_object('attempt', u.attempts, 'worker_id', p_worker_id)
      FROM u WHERE u.started
    )
    SELECT array_agg(u.id ORDER BY u.id) FILTER (WHERE u.pending_parents = 0 AND u.state = 'pending'),
      array_agg(u.id ORDER BY u.id) FILTER (WHERE u.started),
      jsonb_agg(jsonb_build_array(u.id, u.task_id, 'in_progress')) FILTER (WHERE u.started)
    INTO ready, started, v_started_changes FROM u;
  END IF;
  -- The steps' changes of 3 and 4 in one notification.
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes || coalesce(v_started_changes, '[]'));

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

  -- 6. Task progress. A task whose last step this was finishes in the same UPDATE (one new row version
  --    and one statement instead of two); a task never seen started (still pending: another claimer held
  --    its row) goes through _finish_tasks, which starts it first.
  WITH delta AS (
    SELECT x.task_id, sum(x.done)::integer AS done, sum(x.failed)::integer AS failed FROM (
      SELECT s.task_id, 1 AS done, (s.state = 'error')::integer AS failed
      FROM :TASKER_SCHEMA.steps s
      WHERE s.id = ANY (coalesce(v_completed, '{}') || coalesce(v_failed, '{}'))
      UNION ALL
      SELECT b.task_id, 1, 0 FROM unnest(v_blocked_tasks) AS b (task_id)
    ) x GROUP BY x.task_id
  ), f AS (
    -- The tasks are locked (step 2): what is read here is what the UPDATE below changes.
    SELECT d.task_id, d.done, d.failed, (t.state = 'in_progress' AND t.unfinished_steps = d.done) AS finishing,
      CASE WHEN t.failed_steps + d.failed > 0 THEN 'error' ELSE 'complete' END AS end_state
    FROM delta d JOIN :TASKER_SCHEMA.tasks t ON t.id = d.task_id
  ), u AS (
    UPDATE :TASKER_SCHEMA.tasks t
    SET unfinished_steps = t.unfinished_steps - f.done, failed_steps = t.failed_steps + f.failed, updated_at = now(),
      state = CASE WHEN f.finishing THEN f.end_state ELSE t.state END,
      completed_at = CASE WHEN f.finishing THEN now() ELSE t.completed_at END,
      transition_count = t.transition_count + f.finishing::integer
    FROM f WHERE t.id = f.task_id
    RETURNING t.id, t.unfinished_steps, t.state::text AS state, t.transition_count, f.finishing
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.task_transitions (task_id, sort_key, from_state, to_state, metadata)
    SELECT u.id, u.transition_count, 'in_progress', u.state,
      CASE WHEN u.state = 'complete' THEN '{"reason": "all steps complete"}'::jsonb
      ELSE jsonb_build_object('reason', 'steps failed', 'failed_steps', (
        SELECT jsonb_agg(s.name ORDER BY s.position) FROM :TASKER_SCHEMA.steps s
        WHERE s.task_id = u.id AND s.state = 'error')) END
    FROM u WHERE u.finishing
  )
  SELECT jsonb_agg(jsonb_build_array(u.id, u.state)) FILTER (WHERE u.finishing),
    array_agg(u.id) FILTER (WHERE u.unfinished_steps = 0 AND u.state = 'pending')
  INTO finished, v_finishing FROM u;
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:task', finished);

  IF v_finishing IS NOT NULL THEN
    v_more := :TASKER_SCHEMA._finish_tasks(v_finishing);
    finished := CASE WHEN finished IS NULL THEN v_more WHEN v_more IS NULL THEN finished
      ELSE finished || v_more END;
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid, integer, integer[]) IS
  'Internal: applies step outcomes [{step_id, attempt, worker_id?, ok, results, error, permanent, '
  'retry_delay_ms}] under their leases; returns refused step ids, children made ready, retries '
  '[[step_id, task_id, run_at]], finished tasks [[task_id, state]] and the children it started, leased '
  'to p_worker_id (up to p_start_limit of those made ready, of the given templates, without flow control, '
  'in tasks in progress; migration 39).';

-- finish_steps as in migration 37, with its children started by _record_outcomes.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.finish_steps(
  p_worker_id uuid, p_outcomes jsonb, p_claim_limit integer DEFAULT 0, p_named_task_ids integer[] DEFAULT NULL,
  p_claim_queue boolean DEFAULT true
) RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
AS $$
DECLARE
  r record;
  v_special boolean;
  v_decided jsonb;
  v_claim bigint[];
  v_children bigint[];
  v_started boolean;
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
  -- The children these outcomes make ready start in the same statement, unless a decision may skip them
  -- (or batches or child tasks are in play: the rare outcomes go the long way).
  SELECT * INTO r FROM :TASKER_SCHEMA._record_outcomes(p_outcomes, p_worker_id,
    CASE WHEN v_special THEN 0 ELSE v_left END, p_named_task_ids);
  -- Decision steps that completed: the children they did not choose are skipped, with what only they lead to.
  IF v_special AND p_outcomes @? '$[*] ? (exists(@.skip_children))' THEN
    v_decided := :TASKER_SCHEMA._apply_decisions(p_outcomes);
  END IF;

  RETURN QUERY SELECT 'refused'::text, id, NULL::bigint, NULL::text, NULL::integer, NULL::text, NULL::integer,
    NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb, NULL::text, NULL::text,
    NULL::timestamptz, NULL::timestamptz, NULL::text, NULL::integer
  FROM unnest(r.refused) AS id;
  RETURN QUERY SELECT 'retry'::text, (e ->> 0)::bigint, (e ->> 1)::bigint, 'waiting_for_retry'::text, NULL::integer,
    NULL::text, NULL::integer, NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb,
    NULL::text, NULL::text, (e ->> 2)::timestamptz, NULL::timestamptz, NULL::text, NULL::integer
  FROM jsonb_array_elements(r.retrying) AS e;
  RETURN QUERY SELECT 'task'::text, NULL::bigint, t.id, e ->> 1, t.named_task_id, NULL::text,
    NULL::integer, NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb,
    t.correlation_id::text, t.traceparent::text, t.started_at, t.created_at, NULL::text, NULL::integer
  FROM jsonb_array_elements(coalesce(r.finished, '[]') || coalesce(v_decided, '[]')) AS e
  JOIN :TASKER_SCHEMA.tasks t ON t.id = (e ->> 0)::bigint;

  IF r.started IS NOT NULL THEN
    RETURN QUERY SELECT * FROM :TASKER_SCHEMA._claimed_rows(r.started);
    v_left := v_left - cardinality(r.started);
  END IF;

  -- The other children this worker made ready go to this worker first: no round trip, no wake-up; so do the
  -- first steps of the child tasks it just created (new in this transaction: nobody else sees them).
  IF (r.ready IS NOT NULL OR v_children IS NOT NULL) AND v_left > 0 THEN
    -- (Their tasks are locked since _record_outcomes, or new in this transaction: their state holds. Found
    -- by id: the state is no index condition, see migration 37.)
    SELECT array_agg(c.id ORDER BY c.id), bool_and(c.started) INTO v_claim, v_started FROM (
      SELECT s.id, t.state = 'in_progress' AS started FROM :TASKER_SCHEMA.steps s
      JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
      WHERE s.id = ANY (coalesce(r.ready, '{}') || coalesce(v_children, '{}'))
        AND (p_named_task_ids IS NULL OR s.named_task_id = ANY (p_named_task_ids))
        AND s.flow_control = 0 AND s.state || '' = 'pending'
      ORDER BY s.id LIMIT v_left
    ) c;
    IF v_claim IS NOT NULL THEN
      RETURN QUERY SELECT * FROM :TASKER_SCHEMA._start_steps(p_worker_id, v_claim,
        array_fill('pending'::text, ARRAY[cardinality(v_claim)]), v_started);
      v_left := v_left - cardinality(v_claim);
    END IF;
  END IF;
  IF r.ready IS NOT NULL AND cardinality(r.ready) > coalesce(cardinality(v_claim), 0) THEN
    -- (Children a decision skipped are among r.ready; a wake-up too many costs one empty claim.)
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  END IF;
  -- The queue, unless the caller knows that nothing else is ready (an empty claim costs a statement).
  IF v_left > 0 AND coalesce(p_claim_queue, true) THEN
    RETURN QUERY SELECT * FROM :TASKER_SCHEMA.claim_steps(p_worker_id, p_named_task_ids, v_left);
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[], boolean) IS
  'A worker''s round trip: records outcomes [{step_id, attempt, ok, results, error, permanent, '
  'retry_delay_ms, skip_children, await_child, await_batch}] of steps it holds, then claims up to p_claim_limit ready steps (the children it just '
  'made ready, started in the statement that makes them ready, and the first steps of child tasks it '
  'created, first; then from the queue unless p_claim_queue is false). Returns refused, retry, task (run_at '
  '= when it started), claimed and queued rows.';
