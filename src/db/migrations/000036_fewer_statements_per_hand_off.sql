-- Fewer statements per hand-off (issue 13: the idle hand-off). pg_stat_statements over 300 serial chains of
-- three steps (900 finish_steps, 600 of them handing a child over in line) showed two calls that ran on
-- every round trip and found nothing to do on an idle system:
-- 1. finish_steps claimed from the queue for whatever claim room was left after the children it started in
--    line: 111 us per call, when the worker already knew that nothing else was ready (its last claim came
--    back short, and no notification of ready steps came since). The worker now says so (p_claim_queue =
--    false) and that claim is skipped; the children these outcomes make ready are still started in line.
--    A step that becomes ready without a notification (a retry's time: a timer on the worker that
--    scheduled it, the poll on the others) is claimed as it is when the worker is idle. A worker whose
--    templates use concurrency keys always claims: a key released by an outcome wakes the steps parked on
--    it in the same transaction.
-- 2. _start_steps started the tasks of the steps it leased (_start_tasks, 91 us per call), and for a
--    child handed over in line its task has been in progress since its parent ran. finish_steps now reads
--    the tasks' state with the children it picks (the tasks are locked by then) and says when they are
--    all started (p_tasks_started); claims from the queue still start their tasks.
--    (Also tried: a look by key at the top of _start_tasks, to return early when no task is pending. Any
--    statement costs about 30 us here, so it saved 5 us per call on chains and cost 30 on single steps.)
-- The new parameters have defaults, so callers of the old forms (an older worker during a rolling deploy,
-- claim_steps) keep the old behaviour.

DROP FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[]);
DROP FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[]);

-- _start_steps as in migration 35, with p_tasks_started.
CREATE FUNCTION :TASKER_SCHEMA._start_steps(
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

  RETURN QUERY
  SELECT 'claimed'::text, s.id, s.task_id, 'in_progress'::text, s.named_task_id, s.name::text, s.attempts,
    s.attempts_base, s.retry_limit, s.timeout_ms, s.inputs, t.context,
    CASE WHEN cardinality(s.parent_ids) = 0 THEN '{}'::jsonb ELSE (
      SELECT coalesce(jsonb_object_agg(p.name, p.results), '{}'::jsonb)
      FROM :TASKER_SCHEMA.steps p WHERE p.id = ANY (s.parent_ids) AND p.state <> 'skipped') END,
    t.correlation_id::text, t.traceparent::text, s.run_at, t.created_at, s.concurrency_key::text,
    s.concurrency_limit
  FROM :TASKER_SCHEMA.steps s JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
  WHERE s.id = ANY (p_ids);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[], boolean) IS
  'Internal: leases locked ready steps to a worker (in_progress, attempt + 1, audit row) and returns them; '
  'their tasks start too unless the caller knows them started (p_tasks_started).';

-- finish_steps as in migration 35, with p_claim_queue, and its children's tasks known started.
CREATE FUNCTION :TASKER_SCHEMA.finish_steps(
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
    -- (Their tasks are locked since _record_outcomes, or new in this transaction: their state holds.)
    SELECT array_agg(c.id ORDER BY c.id), bool_and(c.started) INTO v_claim, v_started FROM (
      SELECT s.id, t.state = 'in_progress' AS started FROM :TASKER_SCHEMA.steps s
      JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
      WHERE s.id = ANY (coalesce(r.ready, '{}') || coalesce(v_children, '{}'))
        AND (p_named_task_ids IS NULL OR s.named_task_id = ANY (p_named_task_ids))
        AND s.flow_control = 0 AND s.state = 'pending'
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
