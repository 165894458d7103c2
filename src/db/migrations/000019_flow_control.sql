-- Flow control (issue 10, parts 3-5): priorities, concurrency keys and rate limits, enforced by the claim
-- for every worker process at once, with all state in these tables.
--
-- Priorities. A task's priority (an integer, default from its template) is copied to its steps. The
-- claim takes ready steps in order of run_at - priority seconds: priority N is worth N seconds of waiting.
-- That is the aging: a step of priority 0 that has waited a minute goes before a step of priority 30 that
-- became ready just now, so low priority work still runs under constant load. The order is an index
-- (steps_claim_order, replacing steps_ready); the expression is immutable because run_at is taken as a
-- UTC timestamp and the offset is whole seconds.
--
-- Concurrency keys. A step carries a key (its template's group and a value from the task's context) and
-- a limit: at most that many steps with the key are in_progress at once. A task-scoped key (on tasks) is
-- held by the task from its first step until it finishes: at most that many tasks with the key run. A
-- claim that finds a key full parks the step (parked_on = the key): it leaves the claim order index, so
-- no claim scans it again and other keys are not held up. When a step or task holding a key finishes, a
-- trigger wakes the oldest parked step of the key (parked_on = NULL: back in the claim order, in its old
-- place). Claims take the key's advisory lock exclusively and only try it (a busy key's step is left
-- ready for the next claim); releases take it shared and wait, so a release never misses a step parked by
-- a claim it raced with, releases never wait for each other, and claims never wait for a key (only for
-- rate-limit rows, below, in name order). The lock id is hashtextextended('<schema>/concurrency/<key>', 0).
--
-- Rate limits. A named token bucket (rate_limits: units per second and a burst) shared by every worker.
-- A step declares the limits it consumes (steps.rate_limits: [{name, units}]). The claim gives each
-- bucket's balance to its candidates in claim order and takes the units of those that start; the others
-- take nothing and their run_at moves to when their turn's units will be there (they are checked again
-- then). Tokens are taken at the start, never ahead, so the starts of any window never exceed burst +
-- rate x window, however late a worker is. report_rate_limited() (a 429 from the dependent system) puts
-- the bucket in debt for the Retry-After time and halves its rate, which recovers over a minute.
--
-- Waiting for a key or tokens is not an attempt. It is written to the audit trail once per wait, as a
-- transition from the step's state to itself with the event step.throttled.

ALTER TABLE :TASKER_SCHEMA.tasks
  ADD COLUMN priority integer NOT NULL DEFAULT 0,
  ADD COLUMN concurrency_key text,
  ADD COLUMN concurrency_limit integer CHECK (concurrency_limit > 0);
COMMENT ON COLUMN :TASKER_SCHEMA.tasks.priority IS
  'Claim priority of the task''s steps: priority N is worth N seconds of waiting (migration 19).';
COMMENT ON COLUMN :TASKER_SCHEMA.tasks.concurrency_key IS
  'A task-scoped concurrency key: at most concurrency_limit in_progress tasks share it.';

ALTER TABLE :TASKER_SCHEMA.steps
  ADD COLUMN priority integer NOT NULL DEFAULT 0,
  ADD COLUMN flow_control smallint NOT NULL DEFAULT 0,
  ADD COLUMN concurrency_key text,
  ADD COLUMN concurrency_limit integer CHECK (concurrency_limit > 0),
  ADD COLUMN rate_limits jsonb,
  ADD COLUMN parked_on text,
  ADD COLUMN throttled_at timestamptz;
COMMENT ON COLUMN :TASKER_SCHEMA.steps.flow_control IS
  'What the claim must check before this step starts, as bits: 1 its concurrency key, 2 its task''s, '
  '4 rate limits. 0: it just runs.';
COMMENT ON COLUMN :TASKER_SCHEMA.steps.concurrency_key IS
  'A step-scoped concurrency key: at most concurrency_limit in_progress steps share it.';
COMMENT ON COLUMN :TASKER_SCHEMA.steps.rate_limits IS
  'The rate limits an attempt consumes: [{name, units}].';
COMMENT ON COLUMN :TASKER_SCHEMA.steps.parked_on IS
  'The concurrency key whose slot this ready step waits for; NULL: not waiting.';
COMMENT ON COLUMN :TASKER_SCHEMA.steps.throttled_at IS
  'When the current wait for a key or tokens began (NULL: not throttled since its last start).';

ALTER TABLE :TASKER_SCHEMA.step_transitions DROP CONSTRAINT step_transition_allowed;
ALTER TABLE :TASKER_SCHEMA.step_transitions ADD CONSTRAINT step_transition_allowed CHECK (
  (from_state || '>' || to_state) IN (
    'pending>in_progress', 'pending>error', 'pending>cancelled', 'pending>resolved_manually', 'pending>skipped',
    'in_progress>complete', 'in_progress>error', 'in_progress>cancelled', 'in_progress>waiting_for_retry',
    'waiting_for_retry>in_progress', 'waiting_for_retry>cancelled', 'waiting_for_retry>resolved_manually',
    'error>pending', 'error>resolved_manually',
    'pending>pending', 'waiting_for_retry>waiting_for_retry')) NOT VALID;
ALTER TABLE :TASKER_SCHEMA.step_transitions VALIDATE CONSTRAINT step_transition_allowed;
INSERT INTO :TASKER_SCHEMA.step_state_transitions (from_state, to_state, event_name) VALUES
  ('pending', 'pending', 'step.throttled'),
  ('waiting_for_retry', 'waiting_for_retry', 'step.throttled');

DROP INDEX :TASKER_SCHEMA.steps_ready;
-- The ready queue in claim order. Parked steps are not in it.
CREATE INDEX steps_claim_order ON :TASKER_SCHEMA.steps
  (((run_at AT TIME ZONE 'UTC') - priority * interval '1 second'), id)
  WHERE pending_parents = 0 AND state IN ('pending', 'waiting_for_retry') AND parked_on IS NULL;
-- Parked steps of each key, in claim order: what a release wakes.
CREATE INDEX steps_parked ON :TASKER_SCHEMA.steps
  (parked_on, ((run_at AT TIME ZONE 'UTC') - priority * interval '1 second'), id)
  WHERE parked_on IS NOT NULL AND pending_parents = 0 AND state IN ('pending', 'waiting_for_retry');
-- Holders of each key: what a claim counts.
CREATE INDEX steps_key_holders ON :TASKER_SCHEMA.steps (concurrency_key)
  WHERE state = 'in_progress' AND concurrency_key IS NOT NULL;
CREATE INDEX tasks_key_holders ON :TASKER_SCHEMA.tasks (concurrency_key)
  WHERE state = 'in_progress' AND concurrency_key IS NOT NULL;

CREATE TABLE :TASKER_SCHEMA.rate_limits (
  name varchar(128) PRIMARY KEY,
  rate double precision NOT NULL CHECK (rate > 0),
  burst double precision NOT NULL CHECK (burst > 0),
  tokens double precision NOT NULL,
  tokens_at timestamptz NOT NULL DEFAULT now(),
  slow_factor double precision NOT NULL DEFAULT 1 CHECK (slow_factor > 0 AND slow_factor <= 1),
  slowed_at timestamptz,
  deferred_total bigint NOT NULL DEFAULT 0,
  limited_total bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE :TASKER_SCHEMA.rate_limits IS
  'Named token buckets shared by all workers: rate units per second, at most burst units at once. tokens '
  'is the balance at tokens_at (negative: in debt after a 429). slow_factor < 1 after the dependent '
  'system answered 429 at slowed_at; it returns to 1 over 60 s. deferred_total counts deferrals of steps '
  'for tokens, limited_total the 429s reported.';

-- The bucket's effective rate now.
CREATE FUNCTION :TASKER_SCHEMA._effective_rate(p_rate double precision, p_slow_factor double precision,
  p_slowed_at timestamptz) RETURNS double precision
LANGUAGE sql STABLE AS $$
  SELECT p_rate * CASE WHEN p_slowed_at IS NULL THEN 1 ELSE least(1, p_slow_factor
    + (1 - p_slow_factor) * extract(epoch FROM now() - p_slowed_at)::double precision / 60) END
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA._effective_rate(double precision, double precision, timestamptz) IS
  'Internal: a bucket''s rate x its 429 slow-down, which recovers linearly over 60 s.';

CREATE FUNCTION :TASKER_SCHEMA.define_rate_limit(p_name text, p_rate double precision, p_burst double precision)
RETURNS void
LANGUAGE sql AS $$
  INSERT INTO :TASKER_SCHEMA.rate_limits AS r (name, rate, burst, tokens)
  VALUES (p_name, p_rate, p_burst, p_burst)
  ON CONFLICT (name) DO UPDATE SET rate = excluded.rate, burst = excluded.burst,
    tokens = least(r.tokens, excluded.burst), updated_at = now()
  WHERE r.rate IS DISTINCT FROM excluded.rate OR r.burst IS DISTINCT FROM excluded.burst
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.define_rate_limit(text, double precision, double precision) IS
  'Creates a rate limit (a full bucket) or changes its rate and burst, keeping its balance.';

CREATE FUNCTION :TASKER_SCHEMA.report_rate_limited(p_names text[], p_retry_after_ms integer)
RETURNS void
LANGUAGE sql AS $$
  UPDATE :TASKER_SCHEMA.rate_limits r SET
    -- No tokens until Retry-After has passed (debt of that long at the slowed rate), then half the rate.
    tokens = least(r.tokens + extract(epoch FROM now() - r.tokens_at)::double precision
        * :TASKER_SCHEMA._effective_rate(r.rate, r.slow_factor, r.slowed_at), r.burst, 0)
      - greatest(coalesce(p_retry_after_ms, 1000), 0) / 1000.0 * :TASKER_SCHEMA._effective_rate(r.rate, r.slow_factor, r.slowed_at) / 2,
    tokens_at = now(),
    slow_factor = greatest(0.05, :TASKER_SCHEMA._effective_rate(r.rate, r.slow_factor, r.slowed_at) / r.rate / 2),
    slowed_at = now(), limited_total = r.limited_total + 1, updated_at = now()
  WHERE r.name = ANY (p_names)
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.report_rate_limited(text[], integer) IS
  'A dependent system answered 429 (too many requests): the named buckets give no tokens for '
  'p_retry_after_ms and halve their rate, which recovers over 60 s.';

-- Internal: steps begin (or go on) waiting for a key or tokens: parked on p_keys (NULL: not parked) and,
-- for the first throttling of a wait, one step.throttled audit row with the metadata.
CREATE FUNCTION :TASKER_SCHEMA._throttle_steps(p_ids bigint[], p_keys text[], p_metadata jsonb[]) RETURNS void
LANGUAGE sql AS $$
  WITH u AS (
    UPDATE :TASKER_SCHEMA.steps s SET parked_on = m.key, throttled_at = coalesce(s.throttled_at, now()),
      transition_count = s.transition_count + (s.throttled_at IS NULL)::integer
    FROM unnest(p_ids, p_keys, p_metadata) AS m (id, key, metadata)
    WHERE s.id = m.id
    RETURNING s.id, s.state, s.transition_count, m.metadata, s.throttled_at = now() AS first
  )
  INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
  SELECT id, transition_count, state, state, metadata FROM u WHERE first
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA._throttle_steps(bigint[], text[], jsonb[]) IS
  'Internal: parks steps on a key (or not: NULL) and writes one step.throttled row per wait.';

-- Internal: which of the locked candidate steps may start now, decided for the whole batch at once (a few
-- statements, whatever its size). The others are deferred (tokens: run_at moves to when they are
-- there), parked (key full) or left ready (a key or task another transaction holds: the next claim takes
-- them; held_back). Candidates without flow control pass untouched.
CREATE FUNCTION :TASKER_SCHEMA._admit_steps(p_ids bigint[], p_flow smallint)
RETURNS TABLE (id bigint, admitted boolean, held_back boolean)
LANGUAGE plpgsql
-- Planned once: the statements are few rows by primary key and partial indexes; planning them at each
-- call cost more than running them.
SET plan_cache_mode = force_generic_plan
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
  v_keys3 text[];
  v_meta3 jsonb[];
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

  -- 3. Step-scoped keys: the first (limit - running) candidates of each key in claim order start.
  IF p_flow & 1 <> 0 THEN
    -- The keys' locks first, in a statement of their own: the count below must see what a claim that
    -- held a key committed before letting it go (a statement sees what was committed when it began).
    SELECT array_agg(k.key) INTO v_locked FROM (
      SELECT DISTINCT s.concurrency_key AS key
      FROM unnest(p_ids) AS u (id)
      JOIN :TASKER_SCHEMA.steps s ON s.id = u.id
      WHERE s.concurrency_key IS NOT NULL
        AND NOT u.id = ANY (v_deferred) AND NOT u.id = ANY (v_parked) AND NOT u.id = ANY (v_held)
      ORDER BY 1
    ) k
    WHERE pg_try_advisory_xact_lock(hashtextextended(:TASKER_SCHEMA_LITERAL || '/concurrency/' || k.key, 0));
    WITH c AS (
      SELECT u.id, u.ord, s.concurrency_key AS key, s.concurrency_limit AS lim
      FROM unnest(p_ids) WITH ORDINALITY AS u (id, ord)
      JOIN :TASKER_SCHEMA.steps s ON s.id = u.id
      WHERE s.concurrency_key IS NOT NULL
        AND NOT u.id = ANY (v_deferred) AND NOT u.id = ANY (v_parked) AND NOT u.id = ANY (v_held)
    ), keys AS (
      SELECT k.key, k.key = ANY (coalesce(v_locked, '{}')) AS locked
      FROM (SELECT DISTINCT c.key FROM c) k
    ), holders AS (
      -- = ANY (array) and IS NOT NULL, so that the partial index of key holders serves it.
      SELECT s.concurrency_key AS key, count(*) AS n FROM :TASKER_SCHEMA.steps s
      WHERE s.concurrency_key = ANY (ARRAY(SELECT k.key FROM keys k WHERE k.locked))
        AND s.concurrency_key IS NOT NULL AND s.state = 'in_progress'
      GROUP BY s.concurrency_key
    ), ranked AS (
      SELECT c.id, c.key, c.lim, k.locked,
        row_number() OVER (PARTITION BY c.key ORDER BY c.ord) <= c.lim - coalesce(h.n, 0) AS gets_slot
      FROM c JOIN keys k ON k.key = c.key LEFT JOIN holders h ON h.key = c.key
    )
    SELECT coalesce(array_agg(r.id) FILTER (WHERE NOT r.locked), '{}'),
      coalesce(array_agg(r.id ORDER BY r.id) FILTER (WHERE r.locked AND NOT r.gets_slot), '{}'),
      array_agg(r.key ORDER BY r.id) FILTER (WHERE r.locked AND NOT r.gets_slot),
      array_agg(jsonb_build_object('throttled', 'concurrency', 'scope', 'step', 'key', r.key, 'limit', r.lim)
        ORDER BY r.id) FILTER (WHERE r.locked AND NOT r.gets_slot)
    INTO v_held3, v_parked3, v_keys3, v_meta3
    FROM ranked r;
    IF cardinality(v_parked3) > 0 THEN
      PERFORM :TASKER_SCHEMA._throttle_steps(v_parked3, v_keys3, v_meta3);
    END IF;
    v_held := v_held || v_held3;
    v_parked := v_parked || v_parked3;
  END IF;

  RETURN QUERY SELECT u.id, NOT (u.id = ANY (v_deferred) OR u.id = ANY (v_parked) OR u.id = ANY (v_held)),
    u.id = ANY (v_held)
  FROM unnest(p_ids) AS u (id);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._admit_steps(bigint[], smallint) IS
  'Internal: applies rate limits and concurrency keys to locked candidate steps; returns which may start '
  'and which were held back by another transaction (they stay ready).';



CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.next_run_at(p_named_task_ids integer[]) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  -- The run_at of the next step in claim order: with priorities that differ, a step that is due earlier
  -- but ranks later may wait for the worker's next poll.
  SELECT s.run_at FROM :TASKER_SCHEMA.steps s
  WHERE s.pending_parents = 0 AND s.state IN ('pending', 'waiting_for_retry') AND s.parked_on IS NULL
    AND s.run_at > now()
    AND (p_named_task_ids IS NULL OR s.named_task_id = ANY (p_named_task_ids))
  ORDER BY ((s.run_at AT TIME ZONE 'UTC') - s.priority * interval '1 second'), s.id LIMIT 1
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.next_run_at(integer[]) IS
  'When the next queued step becomes claimable (NULL: none queued). Idle workers sleep until then.';

-- Releases: a step or task that held a key stops holding it: wake the key's oldest parked step (a
-- task-scoped key: every parked step of the oldest waiting task). The shared lock waits for a claim that
-- holds the key, so a step it parked is seen; other releases do not block it. _wake_key does it for one
-- key; steps release through the statement trigger that keeps the state counts (its transition tables
-- hold every step that left in_progress), tasks through a row trigger (task-scoped keys are rare).
CREATE FUNCTION :TASKER_SCHEMA._wake_key(p_key text, p_task_scoped boolean) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  v_task bigint;
  v_step bigint;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtextextended(:TASKER_SCHEMA_LITERAL || '/concurrency/' || p_key, 0));
  -- Looked up first: most releases find nobody waiting, and then write nothing.
  IF p_task_scoped THEN
    SELECT p.task_id INTO v_task FROM :TASKER_SCHEMA.steps p
    WHERE p.parked_on = p_key AND p.pending_parents = 0 AND p.state IN ('pending', 'waiting_for_retry')
    ORDER BY ((p.run_at AT TIME ZONE 'UTC') - p.priority * interval '1 second'), p.id LIMIT 1;
    IF v_task IS NULL THEN
      RETURN false;
    END IF;
    UPDATE :TASKER_SCHEMA.steps s SET parked_on = NULL
    WHERE s.id IN (SELECT p.id FROM :TASKER_SCHEMA.steps p
      WHERE p.task_id = v_task AND p.parked_on = p_key FOR UPDATE SKIP LOCKED);
  ELSE
    SELECT p.id INTO v_step FROM :TASKER_SCHEMA.steps p
    WHERE p.parked_on = p_key AND p.pending_parents = 0 AND p.state IN ('pending', 'waiting_for_retry')
    ORDER BY ((p.run_at AT TIME ZONE 'UTC') - p.priority * interval '1 second'), p.id
    LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF v_step IS NULL THEN
      RETURN false;
    END IF;
    UPDATE :TASKER_SCHEMA.steps SET parked_on = NULL WHERE id = v_step;
  END IF;
  -- (A step that a claim left ready because this release held the key is claimed again on that claim's
  -- own notification.)
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  RETURN true;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._wake_key(text, boolean) IS
  'Internal: a holder of a concurrency key finished; wakes what waits for the key.';

-- The statement trigger of step updates (migration 10's _count_states for steps) now also releases keys:
-- no second trigger, so a statement without keyed steps pays one scan of its old rows.
CREATE FUNCTION :TASKER_SCHEMA._step_updates() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_keys text[];
  v_freed integer[];
BEGIN
  -- As _count_states: most updates change no state, and then nothing is written.
  INSERT INTO :TASKER_SCHEMA.state_counts AS c (backend, entity, state, n)
  SELECT pg_backend_pid(), 'step', x.state, sum(x.d) FROM (
    SELECT r.state, 1 AS d FROM new_rows r
    UNION ALL
    SELECT r.state, -1 FROM old_rows r
  ) x GROUP BY x.state HAVING sum(x.d) <> 0 ORDER BY x.state
  ON CONFLICT (backend, entity, state) DO UPDATE SET n = c.n + excluded.n;
  -- The keys of steps that stopped holding them (and how many slots each freed).
  SELECT array_agg(k.key ORDER BY k.key), array_agg(k.n ORDER BY k.key) INTO v_keys, v_freed FROM (
    SELECT o.concurrency_key AS key, count(*)::integer AS n FROM old_rows o
    WHERE o.concurrency_key IS NOT NULL AND o.state = 'in_progress'
      AND (SELECT n.state FROM new_rows n WHERE n.id = o.id) <> 'in_progress'
    GROUP BY o.concurrency_key
  ) k;
  IF v_keys IS NULL THEN
    RETURN NULL;
  END IF;
  -- Shared locks first, in key order (they wait for a claim parking a step under one of them); then, in
  -- a new statement that sees what such a claim committed, the oldest parked steps of each key wake.
  PERFORM pg_advisory_xact_lock_shared(hashtextextended(:TASKER_SCHEMA_LITERAL || '/concurrency/' || k, 0))
  FROM unnest(v_keys) AS k ORDER BY k;
  UPDATE :TASKER_SCHEMA.steps s SET parked_on = NULL
  FROM (
    SELECT w.id FROM unnest(v_keys, v_freed) AS f (key, n)
    CROSS JOIN LATERAL (
      SELECT p.id FROM :TASKER_SCHEMA.steps p
      WHERE p.parked_on = f.key AND p.pending_parents = 0 AND p.state IN ('pending', 'waiting_for_retry')
      ORDER BY ((p.run_at AT TIME ZONE 'UTC') - p.priority * interval '1 second'), p.id
      LIMIT f.n FOR UPDATE SKIP LOCKED
    ) w
  ) woken
  WHERE s.id = woken.id;
  IF FOUND THEN
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._step_updates() IS
  'Internal: statement trigger of step updates: state counts (as _count_states) and concurrency key '
  'releases (steps that held a key stopped running).';

CREATE FUNCTION :TASKER_SCHEMA._release_task_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM :TASKER_SCHEMA._wake_key(OLD.concurrency_key, true);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._release_task_key() IS
  'Internal (trigger): a task that held a task-scoped key finished; wake what waits.';

DROP TRIGGER steps_count_updates ON :TASKER_SCHEMA.steps;
CREATE TRIGGER steps_count_updates AFTER UPDATE ON :TASKER_SCHEMA.steps
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._step_updates();
CREATE TRIGGER tasks_release_key AFTER UPDATE OF state ON :TASKER_SCHEMA.tasks
  FOR EACH ROW WHEN (OLD.state = 'in_progress' AND NEW.state <> 'in_progress' AND OLD.concurrency_key IS NOT NULL)
  EXECUTE FUNCTION :TASKER_SCHEMA._release_task_key();

-- queue_stats as in migration 9 (it read the old ready index), plus the steps parked on a key.
DROP FUNCTION :TASKER_SCHEMA.queue_stats();
CREATE FUNCTION :TASKER_SCHEMA.queue_stats()
RETURNS TABLE (ready_steps bigint, oldest_ready_age_seconds numeric, in_progress_steps bigint, live_workers bigint,
  parked_steps bigint)
LANGUAGE sql STABLE AS $$
  SELECT r.n, coalesce(round(extract(epoch FROM now() - r.oldest)::numeric, 3), 0),
    (SELECT count(*) FROM :TASKER_SCHEMA.steps WHERE state = 'in_progress'),
    (SELECT count(*) FROM :TASKER_SCHEMA.workers w
     WHERE w.stopped_at IS NULL AND w.last_heartbeat_at > now() - make_interval(secs => w.lease_ms / 1000.0)),
    (SELECT count(*) FROM :TASKER_SCHEMA.steps
     WHERE parked_on IS NOT NULL AND pending_parents = 0 AND state IN ('pending', 'waiting_for_retry'))
  FROM (
    SELECT count(*) AS n, min(run_at) AS oldest FROM :TASKER_SCHEMA.steps
    WHERE pending_parents = 0 AND state IN ('pending', 'waiting_for_retry') AND parked_on IS NULL
      AND run_at <= now()
  ) r
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.queue_stats() IS
  'What metrics read at each scrape: ready steps (claimable now) and the age of the oldest, running '
  'steps, live workers, steps parked on a full concurrency key. Reads only partial indexes and the '
  'workers table.';
