-- A hand-off in fewer statements (issue 13: the idle hand-off, and the fixed cost of every round trip).
-- Timed inside PostgreSQL (pg_stat_statements, track = all), an idle hand-off's finish_steps ran about twenty
-- statements for one outcome, and most of its time went to their fixed costs, not to the rows: the
-- statement that records an outcome took 147 us at the least and 293 on average, the one that hands off to
-- the children 28 and 183, each firing the steps' update trigger (the state counts) once more. Now:
--
-- - The outcomes and the hand-off to their children are one UPDATE of steps (steps 3 and 4 of
--   _record_outcomes until now), with one INSERT of their audit rows: one statement and one firing of the
--   trigger instead of two of each. The rows written are the same: each outcome's step and each child once,
--   an audit row for each outcome and each child started.
-- - Statements that find nothing in most round trips run only when they have something to do: the refused
--   outcomes (only when a lease was not held), the notification of finished tasks, and finish_steps' refused,
--   retry and task rows.
-- - Each child and its task are read by id in scalar subqueries. Joined to tasks, as until now, the plan a
--   connection made at its first round trip on nearly empty tables (as every new schema has) read the
--   tasks_state index in every hand-off (test/engine/outcome-steps-by-id.test.ts).
--
-- Measured (docs/benchmarks.md, 2026-12-06 17:20 UTC): finish_steps for a hand-off in the chains one at a
-- time took 0.86-0.99 ms inside PostgreSQL before (median of 100), 0.65-0.83 ms after.

-- _record_outcomes as in migration 39, with the outcomes and the hand-off in one UPDATE.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA._record_outcomes(
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
  -- (A statement only when some outcome was refused: most round trips hold every lease they report.)
  IF v_held IS NULL OR cardinality(v_held) < cardinality(v_ids) THEN
    SELECT array_agg(o.step_id) INTO refused
    FROM unnest(v_ids) AS o (step_id)
    WHERE v_held IS NULL OR NOT o.step_id = ANY (v_held);
  END IF;
  IF v_held IS NULL THEN
    RETURN;
  END IF;

  -- 2. Their tasks, in id order.
  PERFORM 1 FROM :TASKER_SCHEMA.tasks t
  WHERE t.id IN (SELECT s.task_id FROM :TASKER_SCHEMA.steps s WHERE s.id = ANY (v_held))
  ORDER BY t.id FOR UPDATE OF t;

  -- 3. The outcomes, and 4. the hand-off, in one UPDATE of steps (migration 41): children of completed steps
  --    have one parent fewer to wait for. (Their tasks are locked, and claimers never hold a step that still
  --    waits on a parent, so no lock order is needed for them.) Up to p_start_limit of those made ready, in
  --    id order, are leased to p_worker_id in the same update (which ones: see the top of migration 39); the
  --    others are returned as ready. All of it reads the rows as they were before the statement: the
  --    outcomes' steps are not among their own children (a step held under a lease waits on no parent).
  WITH o AS (
    -- (A JSON null reads as SQL NULL, as jsonb_to_recordset read it.)
    SELECT s.id, s.task_id, s.retryable, s.attempts, s.attempts_base, s.retry_limit, s.child_ids,
      (x.v ->> 'ok')::boolean AS ok, nullif(x.v -> 'results', 'null') AS results,
      nullif(x.v -> 'error', 'null') AS error, (x.v ->> 'permanent')::boolean AS permanent,
      (x.v ->> 'retry_delay_ms')::integer AS retry_delay_ms
    FROM :TASKER_SCHEMA.steps s CROSS JOIN LATERAL (SELECT v_by_id -> s.id::text AS v) x
    WHERE s.id = ANY (v_held)
  ), d AS (
    -- (d and k are read twice, so planned apart: every other table is read by id in a scalar subquery, a
    -- probe per row whatever the statistics. Joined, a plan made while the tables were small walked the
    -- whole tasks_state index for each round trip.)
    SELECT o.id, o.child_ids, o.ok, o.results, o.error, o.retry_delay_ms,
      CASE WHEN o.ok THEN 'complete'
        WHEN (SELECT t.state FROM :TASKER_SCHEMA.tasks t WHERE t.id = o.task_id) = 'cancelled' THEN 'cancelled'
        WHEN NOT coalesce(o.permanent, false) AND o.retryable AND o.attempts - o.attempts_base < o.retry_limit
          THEN 'waiting_for_retry'
        ELSE 'error' END AS to_state
    FROM o
  ), k AS (
    SELECT c.id, count(*)::smallint AS n
    FROM d CROSS JOIN LATERAL unnest(d.child_ids) AS c (id)
    WHERE d.to_state = 'complete' AND NOT c.id = ANY (v_held)
    GROUP BY c.id
  ), st AS (
    SELECT k.id FROM k
    WHERE coalesce(p_start_limit, 0) > 0 AND p_worker_id IS NOT NULL
      AND (
        SELECT c.pending_parents = k.n AND c.state || '' = 'pending' AND c.flow_control = 0
          AND (p_named_task_ids IS NULL OR c.named_task_id = ANY (p_named_task_ids))
          AND (SELECT t.state FROM :TASKER_SCHEMA.tasks t WHERE t.id = c.task_id) = 'in_progress'
        FROM :TASKER_SCHEMA.steps c WHERE c.id = k.id
      )
    ORDER BY k.id LIMIT greatest(coalesce(p_start_limit, 0), 0)
  ), src AS (
    -- One row per step: an outcome (n is null), or a child (n parents fewer; start: leased now).
    SELECT d.id, d.to_state, d.ok, d.results, d.error, d.retry_delay_ms, NULL::smallint AS n, false AS start
    FROM d
    UNION ALL
    SELECT k.id, NULL::text, NULL::boolean, NULL::jsonb, NULL::jsonb, NULL::integer, k.n, st.id IS NOT NULL
    FROM k LEFT JOIN st ON st.id = k.id
  ), u AS (
    UPDATE :TASKER_SCHEMA.steps s SET
      state = CASE WHEN src.n IS NULL THEN src.to_state WHEN src.start THEN 'in_progress' ELSE s.state END,
      results = CASE WHEN src.ok THEN coalesce(src.results, 'null'::jsonb) ELSE s.results END,
      last_error = CASE WHEN src.n IS NOT NULL OR src.ok THEN s.last_error ELSE src.error END,
      run_at = CASE WHEN src.to_state = 'waiting_for_retry'
          THEN now() + make_interval(secs => coalesce(src.retry_delay_ms, 0) / 1000.0)
        WHEN src.n IS NOT NULL AND s.pending_parents - src.n = 0 THEN now()
        ELSE s.run_at END,
      backoff_request_seconds = CASE WHEN src.to_state = 'waiting_for_retry'
        THEN coalesce(src.retry_delay_ms, 0) / 1000.0 ELSE s.backoff_request_seconds END,
      completed_at = CASE WHEN src.n IS NOT NULL THEN s.completed_at
        WHEN src.to_state IN ('complete', 'error', 'cancelled') THEN now() END,
      pending_parents = CASE WHEN src.n IS NULL THEN s.pending_parents ELSE s.pending_parents - src.n END,
      attempts = s.attempts + src.start::integer,
      worker_id = CASE WHEN src.start THEN p_worker_id ELSE s.worker_id END,
      last_attempted_at = CASE WHEN src.start THEN now() ELSE s.last_attempted_at END,
      throttled_at = CASE WHEN src.start THEN NULL ELSE s.throttled_at END,
      waiting_since = CASE WHEN src.start THEN NULL ELSE s.waiting_since END,
      updated_at = now(),
      transition_count = s.transition_count + (src.n IS NULL OR src.start)::integer
    FROM src WHERE s.id = src.id
    RETURNING s.id, s.task_id, s.transition_count, s.attempts, s.run_at, s.pending_parents, s.state::text AS state,
      src.n IS NULL AS outcome, src.start AS started, src.error
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT u.id, u.transition_count, CASE WHEN u.outcome THEN 'in_progress' ELSE 'pending' END, u.state,
      CASE WHEN u.started THEN jsonb_build_object('attempt', u.attempts, 'worker_id', p_worker_id)
        WHEN u.state = 'complete' THEN jsonb_build_object('attempt', u.attempts)
        WHEN u.state = 'waiting_for_retry'
          THEN jsonb_build_object('attempt', u.attempts, 'error', u.error, 'retry_at', u.run_at)
        ELSE jsonb_build_object('attempt', u.attempts, 'error', u.error) END
    FROM u WHERE u.outcome OR u.started
  )
  SELECT array_agg(u.id) FILTER (WHERE u.outcome AND u.state = 'complete'),
    array_agg(u.id) FILTER (WHERE u.outcome AND u.state = 'error'),
    jsonb_agg(jsonb_build_array(u.id, u.task_id, u.run_at)) FILTER (WHERE u.outcome AND u.state = 'waiting_for_retry'),
    jsonb_agg(jsonb_build_array(u.id, u.task_id, u.state)) FILTER (WHERE u.outcome OR u.started),
    array_agg(u.id ORDER BY u.id) FILTER (WHERE NOT u.outcome AND u.pending_parents = 0 AND u.state = 'pending'),
    array_agg(u.id ORDER BY u.id) FILTER (WHERE u.started)
  INTO v_completed, v_failed, retrying, v_changes, ready, started
  FROM u;
  -- The steps' changes in one notification.
  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);

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
  IF finished IS NOT NULL THEN
    PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:task', finished);
  END IF;

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
  'in tasks in progress; migration 39), in the UPDATE that records the outcomes (migration 41).';

-- finish_steps as in migration 39, its rows of refused outcomes, retries and finished tasks read only when
-- there are some.
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

  -- (Each only when it has rows: most round trips have no refused outcome, retry or finished task.)
  IF r.refused IS NOT NULL THEN
    RETURN QUERY SELECT 'refused'::text, id, NULL::bigint, NULL::text, NULL::integer, NULL::text, NULL::integer,
      NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb, NULL::text, NULL::text,
      NULL::timestamptz, NULL::timestamptz, NULL::text, NULL::integer
    FROM unnest(r.refused) AS id;
  END IF;
  IF r.retrying IS NOT NULL THEN
    RETURN QUERY SELECT 'retry'::text, (e ->> 0)::bigint, (e ->> 1)::bigint, 'waiting_for_retry'::text, NULL::integer,
      NULL::text, NULL::integer, NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb,
      NULL::text, NULL::text, (e ->> 2)::timestamptz, NULL::timestamptz, NULL::text, NULL::integer
    FROM jsonb_array_elements(r.retrying) AS e;
  END IF;
  IF r.finished IS NOT NULL OR v_decided IS NOT NULL THEN
    RETURN QUERY SELECT 'task'::text, NULL::bigint, t.id, e ->> 1, t.named_task_id, NULL::text,
      NULL::integer, NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb,
      t.correlation_id::text, t.traceparent::text, t.started_at, t.created_at, NULL::text, NULL::integer
    FROM jsonb_array_elements(coalesce(r.finished, '[]') || coalesce(v_decided, '[]')) AS e
    JOIN :TASKER_SCHEMA.tasks t ON t.id = (e ->> 0)::bigint;
  END IF;

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
