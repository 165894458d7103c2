-- Concurrency keys: the next holder of a key starts without a round trip (issue 10).
--
-- Until now a key's slot stood empty between two holders for a round trip at least: the holder's outcome
-- went to the database, which released the key and admitted the next step, and only the reply started
-- it (bench section flow: 100 keys at limit 1 kept 66-72 steps in flight instead of 100). Now, when every
-- holder of a key is one worker's, that worker's claim may lease more steps of the key "in line"
-- (claim_steps returns them as queued): the worker starts one as soon as one of its holders of the key
-- ends, in process, and records the outcome afterwards as usual. Up to 3 x limit may be leased at once
-- (running and in line): a holder that has ended but whose outcome is still on its way counts, and the
-- next step must be leased before the one now running ends.
--
-- Why the limit still holds: other workers count in_progress steps, in line ones included, so the key
-- stays full for them while any of these is leased; the worker runs at most `limit` steps of the key at
-- once (it starts one in line only when fewer run), and every slot it fills was granted to it. A step in
-- line is in_progress from its lease, as a prefetched step is (execution.prefetch): its audit row says
-- when it was leased, its handler starts later. Steps in line take the worker's claim room (free slots
-- and prefetch), so a worker leases them only when it has room beyond the slots it runs; and never ahead
-- of a step parked on the key earlier in claim order, so waiting steps keep their order. A worker
-- that stops releases the steps it holds in line (release_steps), as it releases its prefetched steps.

ALTER TYPE :TASKER_SCHEMA.dispatch_row ADD ATTRIBUTE concurrency_key text, ADD ATTRIBUTE concurrency_limit integer;
COMMENT ON TYPE :TASKER_SCHEMA.dispatch_row IS
  'What claim_steps and finish_steps return. kind = claimed (a step now leased to the caller, with all a '
  'handler needs), queued (leased too, in line behind the caller''s holders of its concurrency key: it '
  'starts when one of them ends; migration 35), refused (an outcome for a lease the caller no longer '
  'holds), retry (a step waiting for retry until run_at) or task (a task that finished, with its final '
  'state). concurrency_key and concurrency_limit: the step-scoped key of a claimed or queued step.';

-- _start_steps as in migration 23, returning the step's key and limit.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA._start_steps(p_worker_id uuid, p_ids bigint[], p_from_states text[])
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

  PERFORM :TASKER_SCHEMA._start_tasks(v_task_ids);
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
COMMENT ON FUNCTION :TASKER_SCHEMA._start_steps(uuid, bigint[], text[]) IS
  'Internal: leases locked ready steps to a worker (in_progress, attempt + 1, audit row) and returns them.';

-- finish_steps as in migration 25; its own rows have the two new columns (NULL).
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.finish_steps(
  p_worker_id uuid, p_outcomes jsonb, p_claim_limit integer DEFAULT 0, p_named_task_ids integer[] DEFAULT NULL
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
  'started), claimed and queued rows.';

-- Internal: part 3 of _admit_steps (step-scoped keys), in a function of its own so that its statements are
-- planned once per connection: they read the candidates by primary key and the holders and parked steps
-- by their partial indexes, plans that stay good at every size (migration 27's settings); the rest of
-- _admit_steps (rate limits, task keys) keeps custom plans (migration 26). Planning it at every claim was
-- most of the cost of a keyed claim (pg_stat_user_functions: 0.9 ms of 1.4 ms per call).
CREATE FUNCTION :TASKER_SCHEMA._admit_step_keys(p_worker_id uuid, p_ids bigint[], p_skip bigint[],
  OUT held bigint[], OUT parked bigint[], OUT in_line bigint[])
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
AS $$
DECLARE
  v_locked text[];
  v_keys text[];
  v_meta jsonb[];
BEGIN
  -- The keys' locks first, in a statement of their own: the count below must see what a claim that
  -- held a key committed before letting it go (a statement sees what was committed when it began).
  SELECT array_agg(k.key) INTO v_locked FROM (
    SELECT DISTINCT s.concurrency_key AS key
    FROM unnest(p_ids) AS u (id)
    JOIN :TASKER_SCHEMA.steps s ON s.id = u.id
    WHERE s.concurrency_key IS NOT NULL
      AND NOT u.id = ANY (p_skip)
    ORDER BY 1
  ) k
  WHERE pg_try_advisory_xact_lock(hashtextextended(:TASKER_SCHEMA_LITERAL || '/concurrency/' || k.key, 0));
  WITH c AS (
    SELECT u.id, u.ord, s.concurrency_key AS key, s.concurrency_limit AS lim
    FROM unnest(p_ids) WITH ORDINALITY AS u (id, ord)
    JOIN :TASKER_SCHEMA.steps s ON s.id = u.id
    WHERE s.concurrency_key IS NOT NULL
      AND NOT u.id = ANY (p_skip)
  ), keys AS (
    SELECT k.key, k.key = ANY (coalesce(v_locked, '{}')) AS locked
    FROM (SELECT DISTINCT c.key FROM c) k
  ), holders AS (
    -- = ANY (array) and IS NOT NULL, so that the partial index of key holders serves it.
    SELECT s.concurrency_key AS key, count(*) AS n, count(*) FILTER (WHERE s.worker_id = p_worker_id) AS mine
    FROM :TASKER_SCHEMA.steps s
    WHERE s.concurrency_key = ANY (ARRAY(SELECT k.key FROM keys k WHERE k.locked))
      AND s.concurrency_key IS NOT NULL AND s.state = 'in_progress'
    GROUP BY s.concurrency_key
  ), ranked AS (
    SELECT c.id, c.key, c.lim, k.locked, coalesce(h.n, 0) AS n, coalesce(h.mine, 0) AS mine,
      row_number() OVER (PARTITION BY c.key ORDER BY c.ord) AS rank
    FROM c JOIN keys k ON k.key = c.key LEFT JOIN holders h ON h.key = c.key
  )
  SELECT coalesce(array_agg(r.id) FILTER (WHERE NOT r.locked), '{}'),
    coalesce(array_agg(r.id ORDER BY r.id) FILTER (WHERE r.locked AND r.rank > r.lim - r.n), '{}'),
    array_agg(r.key ORDER BY r.id) FILTER (WHERE r.locked AND r.rank > r.lim - r.n),
    array_agg(jsonb_build_object('throttled', 'concurrency', 'scope', 'step', 'key', r.key, 'limit', r.lim)
      ORDER BY r.id) FILTER (WHERE r.locked AND r.rank > r.lim - r.n),
    coalesce(array_agg(r.id) FILTER (WHERE r.locked AND r.rank > r.lim - r.n AND r.rank <= 3 * r.lim - r.n
      AND r.n = r.mine), '{}')
  INTO held, parked, v_keys, v_meta, in_line
  FROM ranked r;
  -- Those that may go in line, unless a step parked on their key earlier waits (rare: a statement of
  -- its own, so that the common claim does not plan it).
  IF cardinality(in_line) > 0 THEN
    SELECT coalesce(array_agg(cs.id), '{}') INTO in_line
    FROM :TASKER_SCHEMA.steps cs
    WHERE cs.id = ANY (in_line) AND NOT EXISTS (
      SELECT 1 FROM :TASKER_SCHEMA.steps p
      WHERE p.parked_on = cs.concurrency_key AND p.pending_parents = 0
        AND p.state IN ('pending', 'waiting_for_retry')
        AND ((p.run_at AT TIME ZONE 'UTC') - p.priority * interval '1 second', p.id)
          < ((cs.run_at AT TIME ZONE 'UTC') - cs.priority * interval '1 second', cs.id));
    IF cardinality(in_line) > 0 THEN
      SELECT coalesce(array_agg(x.id ORDER BY x.id), '{}'), array_agg(x.key ORDER BY x.id),
        array_agg(x.meta ORDER BY x.id)
      INTO parked, v_keys, v_meta
      FROM unnest(parked, v_keys, v_meta) AS x (id, key, meta) WHERE NOT x.id = ANY (in_line);
    END IF;
  END IF;
  IF cardinality(parked) > 0 THEN
    PERFORM :TASKER_SCHEMA._throttle_steps(parked, v_keys, v_meta);
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._admit_step_keys(uuid, bigint[], bigint[]) IS
  'Internal: step-scoped keys for _admit_steps: of the locked candidates (but p_skip), which were held back '
  '(key locked by another transaction), parked (key full) or leased in line behind the worker''s holders.';

-- _admit_steps as in migration 19 (custom plans, migration 26), given the claiming worker: it may lease
-- steps of a key in line behind its own holders (part 3).
DROP FUNCTION :TASKER_SCHEMA._admit_steps(bigint[], smallint);
CREATE FUNCTION :TASKER_SCHEMA._admit_steps(p_worker_id uuid, p_ids bigint[], p_flow smallint)
RETURNS TABLE (id bigint, admitted boolean, held_back boolean, in_line boolean)
LANGUAGE plpgsql
-- Custom plans (migration 26).
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
  v_deferred bigint[] := '{}';
  v_deferred_at timestamptz[];
  v_parked bigint[] := '{}';
  v_held bigint[] := '{}';
  v_admitted_tasks bigint[];
  v_first timestamptz;
  v_names text[];
  v_units double precision[];
  v_locked text[];
  v_enough boolean;
  v_held3 bigint[];
  v_parked3 bigint[];
  v_in_line bigint[] := '{}';
BEGIN
  -- 1. Tokens. Each bucket's balance goes to the candidates in claim order; a candidate runs if every
  -- bucket it names covers it (counting the units of the candidates before it), and takes its units
  -- then. The others take nothing: they are deferred to when their turn's units will be there, and
  -- checked again then. Tokens are taken when a step starts, so starts never outrun a bucket.
  IF p_flow & 4 <> 0 THEN
    -- What the batch asks of each bucket, and whether every bucket has it all (the common case: one
    -- update per bucket, nobody deferred). Buckets are locked in name order, so that claims never wait
    -- for each other in a cycle.
    SELECT array_agg(d.name ORDER BY d.name), array_agg(d.units ORDER BY d.name)
    INTO v_names, v_units
    FROM (
      SELECT x ->> 'name' AS name, sum(coalesce((x ->> 'units')::double precision, 1)) AS units
      -- Through unnest, so that the plan (made once: force_generic_plan) reads steps by key.
      FROM unnest(p_ids) AS u (id) JOIN :TASKER_SCHEMA.steps s ON s.id = u.id
      CROSS JOIN LATERAL jsonb_array_elements(s.rate_limits) AS x
      WHERE s.rate_limits IS NOT NULL GROUP BY 1
    ) d;
    SELECT bool_and(least(r.burst, r.tokens + extract(epoch FROM now() - r.tokens_at)::double precision
        * :TASKER_SCHEMA._effective_rate(r.rate, r.slow_factor, r.slowed_at)) >= d.units)
    INTO v_enough
    FROM (SELECT rl.* FROM :TASKER_SCHEMA.rate_limits rl WHERE rl.name = ANY (v_names) ORDER BY rl.name FOR UPDATE) r
    JOIN unnest(v_names, v_units) AS d (name, units) ON d.name = r.name;
    IF v_enough THEN
      UPDATE :TASKER_SCHEMA.rate_limits r SET tokens = least(r.burst, r.tokens
          + extract(epoch FROM now() - r.tokens_at)::double precision
          * :TASKER_SCHEMA._effective_rate(r.rate, r.slow_factor, r.slowed_at)) - d.units,
        tokens_at = now()
      FROM unnest(v_names, v_units) AS d (name, units) WHERE r.name = d.name;
    ELSE
    WITH uses AS (
      SELECT u.id, u.ord, x ->> 'name' AS name, coalesce((x ->> 'units')::double precision, 1) AS units
      FROM unnest(p_ids) WITH ORDINALITY AS u (id, ord)
      JOIN :TASKER_SCHEMA.steps s ON s.id = u.id
      CROSS JOIN LATERAL jsonb_array_elements(s.rate_limits) AS x
      WHERE s.rate_limits IS NOT NULL
    ), buckets AS (
      SELECT r.name, :TASKER_SCHEMA._effective_rate(r.rate, r.slow_factor, r.slowed_at) AS eff,
        least(r.burst, r.tokens + extract(epoch FROM now() - r.tokens_at)::double precision
          * :TASKER_SCHEMA._effective_rate(r.rate, r.slow_factor, r.slowed_at)) AS balance
      FROM :TASKER_SCHEMA.rate_limits r WHERE r.name IN (SELECT name FROM uses)
    ), queue AS (
      SELECT uses.id, uses.name, uses.units, b.eff, b.balance,
        sum(uses.units) OVER (PARTITION BY uses.name ORDER BY uses.ord) - b.balance AS short
      FROM uses JOIN buckets b ON b.name = uses.name
    ), verdict AS (
      SELECT queue.id, max(CASE WHEN short > 0 THEN short / eff END) AS wait_s FROM queue GROUP BY queue.id
    ), taken AS (
      UPDATE :TASKER_SCHEMA.rate_limits r SET tokens = t.balance - t.used, tokens_at = now(),
        deferred_total = r.deferred_total + t.deferred
      FROM (
        SELECT q.name, min(q.balance) AS balance,
          coalesce(sum(q.units) FILTER (WHERE v.wait_s IS NULL), 0) AS used,
          count(*) FILTER (WHERE v.wait_s IS NOT NULL) AS deferred
        FROM queue q JOIN verdict v ON v.id = q.id GROUP BY q.name
      ) t
      WHERE r.name = t.name
    )
    SELECT coalesce(array_agg(verdict.id) FILTER (WHERE wait_s IS NOT NULL), '{}'),
      array_agg(now() + make_interval(secs => wait_s)) FILTER (WHERE wait_s IS NOT NULL)
    INTO v_deferred, v_deferred_at FROM verdict;
    IF cardinality(v_deferred) > 0 THEN
      UPDATE :TASKER_SCHEMA.steps s SET run_at = d.at
      FROM unnest(v_deferred, v_deferred_at) AS d (id, at) WHERE s.id = d.id;
      PERFORM :TASKER_SCHEMA._throttle_steps(v_deferred, array_fill(NULL::text, ARRAY[cardinality(v_deferred)]),
        (SELECT array_agg(jsonb_build_object('throttled', 'rate_limit', 'until', d.at,
           'limits', (SELECT jsonb_agg(x ->> 'name') FROM jsonb_array_elements(s.rate_limits) AS x)) ORDER BY d.ord)
         FROM unnest(v_deferred, v_deferred_at) WITH ORDINALITY AS d (id, at, ord)
         JOIN :TASKER_SCHEMA.steps s ON s.id = d.id));
      SELECT min(x) INTO v_first FROM unnest(v_deferred_at) AS x;
      PERFORM pg_notify(':TASKER_CHANNEL:ready', (floor(extract(epoch FROM v_first) * 1000))::bigint::text);
    END IF;
    END IF;
  END IF;

  -- 2. Task-scoped keys, for tasks about to start (a running task holds its slot). A key another
  -- transaction holds, or a task row another transaction holds, leaves the steps ready for later.
  IF p_flow & 2 <> 0 THEN
    -- The keys' locks first, in a statement of their own: the count below must see what a claim that
    -- held a key committed before letting it go (a statement sees what was committed when it began).
    SELECT array_agg(k.key) INTO v_locked FROM (
      SELECT DISTINCT t.concurrency_key AS key
      FROM unnest(p_ids) AS u (id)
      JOIN :TASKER_SCHEMA.steps s ON s.id = u.id
      JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
      WHERE s.flow_control & 2 <> 0 AND t.state <> 'in_progress' AND NOT u.id = ANY (v_deferred)
      ORDER BY 1
    ) k
    WHERE pg_try_advisory_xact_lock(hashtextextended(:TASKER_SCHEMA_LITERAL || '/concurrency/' || k.key, 0));
    WITH c AS (
      SELECT u.id, u.ord, s.task_id, t.concurrency_key AS key, t.concurrency_limit AS lim
      FROM unnest(p_ids) WITH ORDINALITY AS u (id, ord)
      JOIN :TASKER_SCHEMA.steps s ON s.id = u.id
      JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id
      WHERE s.flow_control & 2 <> 0 AND t.state <> 'in_progress'
        AND NOT u.id = ANY (v_deferred)
    ), keys AS (
      SELECT k.key, k.key = ANY (coalesce(v_locked, '{}')) AS locked
      FROM (SELECT DISTINCT c.key FROM c) k
    ), owned AS (
      -- The task is started by _start_steps: it must be ours to start.
      SELECT t.id FROM :TASKER_SCHEMA.tasks t
      WHERE t.id IN (SELECT c.task_id FROM c JOIN keys k ON k.key = c.key AND k.locked)
      ORDER BY t.id FOR UPDATE SKIP LOCKED
    ), holders AS (
      -- = ANY (array) and IS NOT NULL, so that the partial index of key holders serves it.
      SELECT t.concurrency_key AS key, count(*) AS n FROM :TASKER_SCHEMA.tasks t
      WHERE t.concurrency_key = ANY (ARRAY(SELECT k.key FROM keys k WHERE k.locked))
        AND t.concurrency_key IS NOT NULL AND t.state = 'in_progress'
      GROUP BY t.concurrency_key
    ), tasks_in_order AS (
      SELECT c.key, c.task_id, min(c.lim) AS lim, min(c.ord) AS first
      FROM c WHERE c.task_id IN (SELECT owned.id FROM owned) GROUP BY c.key, c.task_id
    ), ranked AS (
      SELECT o.task_id, o.key,
        row_number() OVER (PARTITION BY o.key ORDER BY o.first) <= o.lim - coalesce(h.n, 0) AS gets_slot
      FROM tasks_in_order o LEFT JOIN holders h ON h.key = o.key
    )
    SELECT coalesce(array_agg(c.id) FILTER (WHERE r.task_id IS NULL), '{}'),
      coalesce(array_agg(c.id) FILTER (WHERE r.task_id IS NOT NULL AND NOT r.gets_slot), '{}'),
      array_agg(DISTINCT r.task_id) FILTER (WHERE r.gets_slot)
    INTO v_held, v_parked, v_admitted_tasks
    FROM c LEFT JOIN ranked r ON r.task_id = c.task_id;
    IF cardinality(v_parked) > 0 THEN
      PERFORM :TASKER_SCHEMA._throttle_steps(v_parked,
        (SELECT array_agg(t.concurrency_key ORDER BY p.ord) FROM unnest(v_parked) WITH ORDINALITY AS p (id, ord)
         JOIN :TASKER_SCHEMA.steps s ON s.id = p.id JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id),
        (SELECT array_agg(jsonb_build_object('throttled', 'concurrency', 'scope', 'task', 'key', t.concurrency_key,
           'limit', t.concurrency_limit) ORDER BY p.ord)
         FROM unnest(v_parked) WITH ORDINALITY AS p (id, ord)
         JOIN :TASKER_SCHEMA.steps s ON s.id = p.id JOIN :TASKER_SCHEMA.tasks t ON t.id = s.task_id));
    END IF;
    IF v_admitted_tasks IS NOT NULL THEN
      -- Their steps parked earlier (roots of a task that waited) go with them.
      UPDATE :TASKER_SCHEMA.steps s SET parked_on = NULL
      WHERE s.id IN (SELECT p.id FROM :TASKER_SCHEMA.steps p
        WHERE p.task_id = ANY (v_admitted_tasks) AND p.parked_on IS NOT NULL FOR UPDATE SKIP LOCKED);
    END IF;
  END IF;

  -- 3. Step-scoped keys: the first (limit - holders) candidates of each key in claim order start. When
  -- every holder of the key is this worker's, up to (3 x limit - holders) more are leased in line: the
  -- worker starts them as its holders end, with no round trip between (see the migration's header).
  -- Not ahead of a step parked on the key earlier in claim order: waiting steps keep their order.
  IF p_flow & 1 <> 0 THEN
    SELECT k.held, k.parked, k.in_line INTO v_held3, v_parked3, v_in_line
    FROM :TASKER_SCHEMA._admit_step_keys(p_worker_id, p_ids, v_deferred || v_parked || v_held) k;
    v_held := v_held || v_held3;
    v_parked := v_parked || v_parked3;
  END IF;

  RETURN QUERY SELECT u.id, NOT (u.id = ANY (v_deferred) OR u.id = ANY (v_parked) OR u.id = ANY (v_held)),
    u.id = ANY (v_held), u.id = ANY (v_in_line)
  FROM unnest(p_ids) AS u (id);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._admit_steps(uuid, bigint[], smallint) IS
  'Internal: applies rate limits and concurrency keys to locked candidate steps; returns which may start, '
  'which were held back by another transaction (they stay ready) and which start in line behind the '
  'claiming worker''s holders of their key.';

-- claim_steps as in migration 23, with the worker passed to _admit_steps and the steps it leased in line
-- returned as queued.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.claim_steps(p_worker_id uuid, p_named_task_ids integer[], p_limit integer)
RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
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
  v_in_line bigint[] := '{}';
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
        array_agg(c.state ORDER BY c.ord) FILTER (WHERE a.admitted), v_held OR coalesce(bool_or(a.held_back), false),
        v_in_line || coalesce(array_agg(c.id) FILTER (WHERE a.in_line), '{}')
      INTO v_ids, v_states, v_held, v_in_line
      FROM unnest(v_ids, v_states) WITH ORDINALITY AS c (id, state, ord)
      JOIN :TASKER_SCHEMA._admit_steps(p_worker_id, v_ids, (v_flow & 7)::smallint) a ON a.id = c.id;
    END IF;
    IF v_ids IS NOT NULL AND cardinality(v_in_line) = 0 THEN
      RETURN QUERY SELECT * FROM :TASKER_SCHEMA._start_steps(p_worker_id, v_ids, v_states);
      v_left := v_left - cardinality(v_ids);
    ELSIF v_ids IS NOT NULL THEN
      -- Steps leased in line behind this worker's holders of their key are returned as queued.
      RETURN QUERY SELECT CASE WHEN x.step_id = ANY (v_in_line) THEN 'queued' ELSE x.kind END, x.step_id,
        x.task_id, x.state, x.named_task_id, x.step_name, x.attempt, x.attempts_base, x.retry_limit,
        x.timeout_ms, x.inputs, x.context, x.parent_results, x.correlation_id, x.traceparent, x.run_at,
        x.task_created_at, x.concurrency_key, x.concurrency_limit
      FROM :TASKER_SCHEMA._start_steps(p_worker_id, v_ids, v_states) x;
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
  'and rate limits (parked and deferred steps are not returned). Returns claimed rows, and queued rows: '
  'steps leased in line behind the worker''s holders of their key (migration 35).';
