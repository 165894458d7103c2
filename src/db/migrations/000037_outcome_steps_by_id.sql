-- The round trip that records outcomes found the steps its outcomes name in ways whose cost grew with the
-- table instead of the batch, depending on what the statistics said when a connection made its plans:
-- 1. _record_outcomes locked the held steps with a join of the outcomes' rows and steps that the planner
--    read from steps_running (worker_id, partial on state = 'in_progress'), or, in another sitting of the
--    same workload (tasks created while they ran, the table growing under the planner), as a scan of all
--    of steps_pkey in id order with the outcomes compared to every row;
-- 2. the outcome update joined the outcomes' rows with the steps as a nested loop comparing each outcome
--    with each step (100 x 100 / 2 comparisons for a batch of 100);
-- 3. finish_steps picked the children to start in line with a bitmap scan of steps_unfinished (task_id,
--    partial on the unfinished states), which holds every unfinished step of every task.
-- A partial index also keeps an entry for every row version it ever matched until the table is vacuumed
-- (a lease that ended leaves its entry behind, and bitmap scans never mark entries dead), so such a scan
-- read more with each round trip. Seen with auto_explain in the bench's workloads: the lock read 8,700 ->
-- 16,900 entries of steps_running per round trip in a drain of 20,000 single-step tasks (about 10 % of
-- finish_steps), and 4,600 rows of steps_pkey per round trip (3.2 ms of a 10.4 ms finish_steps) when
-- tasks were created while they ran; the children's scan read 11,400 entries per round trip on average,
-- 18,700 at most, in 3,000 chains, to find about 20.
-- Now the outcomes are read once into an array of ids and an object keyed by id; each statement finds its
-- steps by `id = ANY (ids)` (steps_pkey) and an outcome's fields by key, and the state is no index
-- condition, so a round trip costs what its batch holds, whatever ran before it and whatever the
-- statistics say. Measured against migration 36 in one sitting, builds alternated (see
-- docs/benchmarks.md): 20,000 single-step tasks drained 9,015 / 9,280 / 9,009 -> 9,919 / 9,717 / 9,539
-- tasks/s; 2,000 chains created while they ran 2,061 / 1,939 / 2,008 -> 2,283 / 2,314 / 2,359 chains/s
-- (hand-off p50 15.2 / 15.6 / 13.8 -> 12.4 / 12.6 / 12.4 ms); 2,000 diamonds 1,608 / 1,593 / 1,528 ->
-- 1,926 / 1,804 / 1,813 per second.

-- _record_outcomes as in migration 33, with its outcomes read by key (1, 2).
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA._record_outcomes(
  p_outcomes jsonb, p_worker_id uuid,
  OUT refused bigint[], OUT ready bigint[], OUT retrying jsonb, OUT finished jsonb
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
BEGIN
  -- The outcomes by step id: the statements below read a step's outcome by key, never by a join with the
  -- outcomes' rows (see above).
  SELECT array_agg((x.v ->> 'step_id')::bigint), jsonb_object_agg(x.v ->> 'step_id', x.v)
  INTO v_ids, v_by_id FROM jsonb_array_elements(p_outcomes) AS x (v);

  -- 1. The steps still held under the lease each outcome names, locked in id order. (Found by id, the
  --    lease checked by key; the state is no index condition: see above.)
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
COMMENT ON FUNCTION :TASKER_SCHEMA._record_outcomes(jsonb, uuid) IS
  'Internal: applies step outcomes [{step_id, attempt, worker_id?, ok, results, error, permanent, '
  'retry_delay_ms}] under their leases; returns refused step ids, children made ready, retries '
  '[[step_id, task_id, run_at]] and finished tasks [[task_id, state]].';

-- finish_steps as in migration 36, with the children it starts in line found by id (3).
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
  SELECT * INTO r FROM :TASKER_SCHEMA._record_outcomes(p_outcomes, p_worker_id);
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

  -- The children this worker made ready go to this worker first: no round trip, no wake-up; so do the
  -- first steps of the child tasks it just created (new in this transaction: nobody else sees them).
  IF (r.ready IS NOT NULL OR v_children IS NOT NULL) AND v_left > 0 THEN
    -- (Their tasks are locked since _record_outcomes, or new in this transaction: their state holds. Found
    -- by id: the state is no index condition, see above.)
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
  'made ready, and the first steps of child tasks it created, first; then from the queue unless p_claim_queue '
  'is false). Returns refused, retry, task (run_at = when it started), claimed and queued rows.';
