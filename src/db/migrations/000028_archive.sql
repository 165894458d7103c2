-- Archiving (issue 11, part 2): instead of deleting them, retention can move finished tasks, whole, into
-- an archive partitioned by the month they finished in. A task's audit trail stays complete and readable
-- (the API, GraphQL, CLI and dashboard read archived tasks back); an old month goes at once by dropping
-- its partition, without a DELETE over millions of rows.
--
-- One archive row per task, holding the task's rows as JSON (the task, its steps, its transitions, its
-- annotations): moving a task writes one row where creating and running it wrote about eleven, and the
-- archive needs no migration when the live tables gain a column (json_populate_record reads an older
-- row with the new column null). Reads turn the JSON back into rows of the live tables' types, so one
-- mapping serves live and archived tasks. The columns are json, not jsonb: the archive is written far
-- more than it is read, and building text JSON (row_to_json, json_agg) made archiving ~1.2x faster than
-- building jsonb in the same sitting (20,000 tasks in batches of 500: 4,163 against 3,504 and 6,543
-- against 5,410 tasks/s), at the same size.

CREATE TABLE :TASKER_SCHEMA.archived_tasks (
  id bigint NOT NULL,
  completed_at timestamptz NOT NULL,
  archived_at timestamptz NOT NULL DEFAULT now(),
  named_task_id integer NOT NULL,
  state varchar(32) NOT NULL,
  tags text[] NOT NULL,
  parent_task_id bigint,
  created_at timestamptz NOT NULL,
  step_ids bigint[] NOT NULL,
  task json NOT NULL,
  steps json NOT NULL,
  task_transitions json NOT NULL,
  step_transitions json NOT NULL,
  annotations json NOT NULL,
  PRIMARY KEY (id, completed_at)
) PARTITION BY RANGE (completed_at);
COMMENT ON TABLE :TASKER_SCHEMA.archived_tasks IS
  'Finished tasks moved out of the live tables by retention (archive mode), one row per task, partitioned '
  'by the month (UTC) they finished in: archived_tasks_YYYY_MM. task is the tasks row, steps, '
  'task_transitions and step_transitions the arrays of their rows, annotations the task_annotations rows '
  'with their type name. The columns beside them are copies for filtering and listing. Steps and '
  'transitions read back through archived_step_rows, archived_step_row and the '
  'archived_*_transition_history functions.';
-- Steps are read back by their own id (links to a step of an archived task).
CREATE INDEX archived_tasks_step_ids ON :TASKER_SCHEMA.archived_tasks USING gin (step_ids);

CREATE FUNCTION :TASKER_SCHEMA.archive_partition(p_month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_start date := date_trunc('month', p_month)::date;
  v_name text := 'archived_tasks_' || to_char(v_start, 'YYYY_MM');
BEGIN
  IF to_regclass(quote_ident(:TASKER_SCHEMA_LITERAL) || '.' || quote_ident(v_name)) IS NULL THEN
    EXECUTE format(
      'CREATE TABLE %I.%I PARTITION OF %I.archived_tasks FOR VALUES FROM (%L) TO (%L)',
      :TASKER_SCHEMA_LITERAL, v_name, :TASKER_SCHEMA_LITERAL,
      v_start::timestamp AT TIME ZONE 'UTC', (v_start + interval '1 month') AT TIME ZONE 'UTC');
  END IF;
  RETURN v_name;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.archive_partition(date) IS
  'Creates the archive partition of p_month (UTC) unless it exists; returns its name.';

CREATE FUNCTION :TASKER_SCHEMA.archive_partitions()
RETURNS TABLE (name text, month date, tasks bigint, bytes bigint)
LANGUAGE sql STABLE AS $$
  SELECT c.relname::text, to_date(right(c.relname, 7), 'YYYY_MM'),
    CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END, pg_total_relation_size(c.oid)
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = (quote_ident(:TASKER_SCHEMA_LITERAL) || '.archived_tasks')::regclass
    AND c.relname ~ '^archived_tasks_[0-9]{4}_[0-9]{2}$'
  ORDER BY 2
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.archive_partitions() IS
  'The archive''s monthly partitions, oldest first, with their estimated row count (as of the last '
  'ANALYZE or VACUUM; NULL before the first) and size on disk.';

CREATE FUNCTION :TASKER_SCHEMA.maintain_archive(p_ahead integer, p_keep_months integer)
RETURNS TABLE (created text[], dropped text[])
LANGUAGE plpgsql AS $$
DECLARE
  v_this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  v_created text[] := '{}';
  v_dropped text[] := '{}';
  v_partition record;
BEGIN
  -- The same lock as the pruners: partitions are created and dropped by one process at a time.
  PERFORM pg_advisory_xact_lock(hashtext(:TASKER_SCHEMA_LITERAL || '/prune_tasks'));
  FOR i IN 0 .. greatest(p_ahead, 0) LOOP
    IF to_regclass(quote_ident(:TASKER_SCHEMA_LITERAL) || '.'
        || quote_ident('archived_tasks_' || to_char(v_this_month + make_interval(months => i), 'YYYY_MM'))) IS NULL
    THEN
      v_created := v_created
        || :TASKER_SCHEMA.archive_partition((v_this_month + make_interval(months => i))::date);
    END IF;
  END LOOP;
  IF p_keep_months IS NOT NULL THEN
    FOR v_partition IN
      SELECT p.name FROM :TASKER_SCHEMA.archive_partitions() p
      WHERE p.month + interval '1 month' <= v_this_month - make_interval(months => p_keep_months)
    LOOP
      EXECUTE format('DROP TABLE %I.%I', :TASKER_SCHEMA_LITERAL, v_partition.name);
      v_dropped := v_dropped || v_partition.name;
    END LOOP;
  END IF;
  RETURN QUERY SELECT v_created, v_dropped;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.maintain_archive(integer, integer) IS
  'Creates the archive partitions of this month and the p_ahead next ones (UTC) when missing, and drops '
  'whole partitions whose month ended more than p_keep_months months before this one (NULL: keep all). '
  'Returns the partitions created and dropped.';

-- Retention's selection and removal, shared by prune_tasks (delete) and archive_tasks (move).

CREATE FUNCTION :TASKER_SCHEMA._expired_tasks(
  p_states text[], p_older_than_ms bigint, p_limit integer,
  p_namespace text, p_name text, p_exclude text[], p_wait boolean
) RETURNS TABLE (ids bigint[], locked boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  v_lock bigint := hashtext(:TASKER_SCHEMA_LITERAL || '/prune_tasks');
BEGIN
  IF p_wait THEN
    PERFORM pg_advisory_xact_lock(v_lock);
  ELSIF NOT pg_try_advisory_xact_lock(v_lock) THEN
    RETURN QUERY SELECT NULL::bigint[], false;
    RETURN;
  END IF;
  RETURN QUERY SELECT array_agg(x.id), true FROM (
    SELECT t.id
    FROM :TASKER_SCHEMA.tasks t
    JOIN :TASKER_SCHEMA.named_tasks nt ON nt.id = t.named_task_id
    JOIN :TASKER_SCHEMA.task_namespaces ns ON ns.id = nt.namespace_id
    WHERE t.state IN ('complete', 'error', 'cancelled', 'resolved_manually')
      AND t.state = ANY (p_states)
      -- The database's clock, not the caller's: every process agrees on what is old enough.
      AND t.completed_at < now() - p_older_than_ms * interval '1 millisecond'
      AND (p_namespace IS NULL OR ns.name = p_namespace)
      AND (p_name IS NULL OR nt.name = p_name)
      AND NOT (ns.name = ANY (p_exclude) OR (ns.name || '/' || nt.name) = ANY (p_exclude))
    -- No ORDER BY: sorting every expired task to take the oldest batch read the whole backlog at each
    -- batch (66 ms a batch at 20,000 expired tasks, growing with the backlog); every task taken is expired
    -- anyway, and the scan stops at the batch's size.
    LIMIT p_limit
    FOR UPDATE OF t SKIP LOCKED
  ) x;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._expired_tasks(text[], bigint, integer, text, text, text[], boolean) IS
  'Takes the pruners'' lock (one pruner at a time across processes; p_wait false gives up at once when '
  'another holds it: locked = false), then locks and returns up to p_limit finished tasks that retention '
  'takes (in no particular order: all are expired), skipping tasks locked by someone else. ids is NULL '
  'when there are none.';

-- _delete_tasks and archive_tasks plan each statement for its own batch (custom plans), and both rule
-- out sequential scans and hash or merge joins, as migration 27 does for the dispatch functions: on
-- tables whose statistics lagged behind a burst of finished tasks, the planner read all of
-- step_transitions once per archived task (a hash join inside the per-task subquery), and archiving
-- 20,000 tasks ran at 209 tasks/s; deleting a batch's step transitions hash-joined a sequential scan of
-- the whole table (15-24 ms of a 50-80 ms batch at 40,000 rows; pruning 1.1x faster without). A batch
-- touches only its own rows, by index. Neither compiles its statements (jit off): the same stale
-- statistics priced a 500-row batch high enough to spend 300 ms compiling it.
CREATE FUNCTION :TASKER_SCHEMA._delete_tasks(p_ids bigint[])
RETURNS TABLE (tasks bigint, steps bigint, transitions bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
AS $$
DECLARE
  v_tasks bigint;
  v_steps bigint;
  v_step_transitions bigint;
  v_task_transitions bigint;
BEGIN
  PERFORM set_config('tasker.allow_audit_delete', 'on', true);
  DELETE FROM :TASKER_SCHEMA.step_transitions st
  USING :TASKER_SCHEMA.steps s
  WHERE s.task_id = ANY (p_ids) AND st.step_id = s.id;
  GET DIAGNOSTICS v_step_transitions = ROW_COUNT;
  DELETE FROM :TASKER_SCHEMA.task_transitions WHERE task_id = ANY (p_ids);
  GET DIAGNOSTICS v_task_transitions = ROW_COUNT;
  PERFORM set_config('tasker.allow_audit_delete', 'off', true);

  DELETE FROM :TASKER_SCHEMA.steps WHERE task_id = ANY (p_ids);
  GET DIAGNOSTICS v_steps = ROW_COUNT;
  -- task_annotations go with their tasks (ON DELETE CASCADE).
  DELETE FROM :TASKER_SCHEMA.tasks WHERE id = ANY (p_ids);
  GET DIAGNOSTICS v_tasks = ROW_COUNT;
  RETURN QUERY SELECT v_tasks, v_steps, v_step_transitions + v_task_transitions;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._delete_tasks(bigint[]) IS
  'Deletes tasks with their steps, annotations and audit trail (the one place, with retention, allowed '
  'to delete audit rows). Returns the rows removed.';

CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.prune_tasks(
  p_states text[], p_older_than_ms bigint, p_limit integer,
  p_namespace text, p_name text, p_exclude text[], p_wait boolean
) RETURNS TABLE (tasks bigint, steps bigint, transitions bigint, locked boolean)
LANGUAGE plpgsql
AS $$
DECLARE
  v_ids bigint[];
  v_locked boolean;
BEGIN
  SELECT e.ids, e.locked INTO v_ids, v_locked
  FROM :TASKER_SCHEMA._expired_tasks(p_states, p_older_than_ms, p_limit, p_namespace, p_name, p_exclude, p_wait) e;
  IF v_ids IS NULL THEN
    RETURN QUERY SELECT 0::bigint, 0::bigint, 0::bigint, v_locked;
    RETURN;
  END IF;
  RETURN QUERY SELECT d.tasks, d.steps, d.transitions, true FROM :TASKER_SCHEMA._delete_tasks(v_ids) d;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.prune_tasks(text[], bigint, integer, text, text, text[], boolean) IS
  'Removes up to p_limit finished tasks in p_states that finished more than p_older_than_ms ago (by the '
  'database clock; in no particular order), with their steps, annotations and audit trail. p_namespace / '
  'p_name narrow it to templates; p_exclude lists ''namespace'' or ''namespace/name'' entries to leave '
  'alone (templates with a policy of their own). One pruner at a time (advisory lock): p_wait false '
  'returns locked = false at once when another holds it. Returns what was removed; call again until '
  'tasks < p_limit.';

CREATE FUNCTION :TASKER_SCHEMA.archive_tasks(
  p_states text[], p_older_than_ms bigint, p_limit integer,
  p_namespace text, p_name text, p_exclude text[], p_wait boolean
) RETURNS TABLE (tasks bigint, steps bigint, transitions bigint, locked boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
AS $$
DECLARE
  v_ids bigint[];
  v_locked boolean;
BEGIN
  SELECT e.ids, e.locked INTO v_ids, v_locked
  FROM :TASKER_SCHEMA._expired_tasks(p_states, p_older_than_ms, p_limit, p_namespace, p_name, p_exclude, p_wait) e;
  IF v_ids IS NULL THEN
    RETURN QUERY SELECT 0::bigint, 0::bigint, 0::bigint, v_locked;
    RETURN;
  END IF;
  -- A batch may reach back into months without a partition yet (archiving turned on over old history).
  PERFORM :TASKER_SCHEMA.archive_partition(m.month)
  FROM (SELECT DISTINCT date_trunc('month', t.completed_at AT TIME ZONE 'UTC')::date AS month
        FROM :TASKER_SCHEMA.tasks t WHERE t.id = ANY (v_ids)) m;

  INSERT INTO :TASKER_SCHEMA.archived_tasks (
    id, completed_at, named_task_id, state, tags, parent_task_id, created_at, step_ids,
    task, steps, task_transitions, step_transitions, annotations)
  SELECT t.id, t.completed_at, t.named_task_id, t.state, t.tags, t.parent_task_id, t.created_at,
    coalesce(s.ids, '{}'), row_to_json(t), coalesce(s.rows, '[]'), coalesce(tt.rows, '[]'),
    coalesce(st.rows, '[]'), coalesce(a.rows, '[]')
  FROM :TASKER_SCHEMA.tasks t
  LEFT JOIN LATERAL (
    SELECT array_agg(x.id ORDER BY x.position) AS ids, json_agg(row_to_json(x) ORDER BY x.position) AS rows
    FROM :TASKER_SCHEMA.steps x WHERE x.task_id = t.id) s ON true
  LEFT JOIN LATERAL (
    SELECT json_agg(row_to_json(x) ORDER BY x.sort_key) AS rows
    FROM :TASKER_SCHEMA.task_transitions x WHERE x.task_id = t.id) tt ON true
  LEFT JOIN LATERAL (
    SELECT json_agg(row_to_json(x) ORDER BY x.step_id, x.sort_key) AS rows
    FROM :TASKER_SCHEMA.steps y JOIN :TASKER_SCHEMA.step_transitions x ON x.step_id = y.id
    WHERE y.task_id = t.id) st ON true
  LEFT JOIN LATERAL (
    SELECT json_agg(to_jsonb(x) || jsonb_build_object('annotation_type', ty.name) ORDER BY x.id) AS rows
    FROM :TASKER_SCHEMA.task_annotations x
    JOIN :TASKER_SCHEMA.annotation_types ty ON ty.id = x.annotation_type_id
    WHERE x.task_id = t.id) a ON true
  WHERE t.id = ANY (v_ids);

  RETURN QUERY SELECT d.tasks, d.steps, d.transitions, true FROM :TASKER_SCHEMA._delete_tasks(v_ids) d;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.archive_tasks(text[], bigint, integer, text, text, text[], boolean) IS
  'prune_tasks, moving instead of deleting: up to p_limit expired finished tasks go, whole, into '
  'archived_tasks (creating the partitions of their months when missing) in one transaction. Same '
  'arguments, lock and result as prune_tasks.';

-- Reading the archive back as rows of the live tables' types (a task itself: json_populate_record over
-- archived_tasks.task, in the library's queries, beside archived_at).

CREATE FUNCTION :TASKER_SCHEMA.archived_step_rows(p_task_ids bigint[])
RETURNS SETOF :TASKER_SCHEMA.steps
LANGUAGE sql STABLE AS $$
  SELECT r.* FROM :TASKER_SCHEMA.archived_tasks a
  CROSS JOIN LATERAL json_populate_recordset(NULL:::TASKER_SCHEMA.steps, a.steps) r
  WHERE a.id = ANY (p_task_ids)
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.archived_step_rows(bigint[]) IS
  'The steps of these archived tasks, as steps rows.';

CREATE FUNCTION :TASKER_SCHEMA.archived_step_row(p_step_id bigint)
RETURNS SETOF :TASKER_SCHEMA.steps
LANGUAGE sql STABLE AS $$
  SELECT r.* FROM :TASKER_SCHEMA.archived_tasks a
  CROSS JOIN LATERAL json_populate_recordset(NULL:::TASKER_SCHEMA.steps, a.steps) r
  WHERE a.step_ids @> ARRAY[p_step_id] AND r.id = p_step_id
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.archived_step_row(bigint) IS
  'One step of an archived task, by its id (found through the step_ids index).';

CREATE FUNCTION :TASKER_SCHEMA.archived_task_transition_history(p_task_id bigint)
RETURNS SETOF :TASKER_SCHEMA.task_transition_history
LANGUAGE sql STABLE AS $$
  SELECT r.*, r.sort_key = (a.task->>'transition_count')::integer
  FROM :TASKER_SCHEMA.archived_tasks a
  CROSS JOIN LATERAL json_populate_recordset(NULL:::TASKER_SCHEMA.task_transitions, a.task_transitions) r
  WHERE a.id = p_task_id
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.archived_task_transition_history(bigint) IS
  'The transitions of an archived task, as task_transition_history rows (most_recent flagged).';

CREATE FUNCTION :TASKER_SCHEMA.archived_step_transition_history(p_task_id bigint, p_step_id bigint)
RETURNS TABLE (
  step_id bigint, sort_key integer, from_state varchar(32), to_state varchar(32), metadata jsonb,
  created_at timestamptz, task_id bigint, most_recent boolean, step_name varchar(128))
LANGUAGE sql STABLE AS $$
  SELECT r.step_id, r.sort_key, r.from_state, r.to_state, r.metadata, r.created_at, a.id,
    r.sort_key = s.transition_count, s.name
  FROM :TASKER_SCHEMA.archived_tasks a
  CROSS JOIN LATERAL json_populate_recordset(NULL:::TASKER_SCHEMA.step_transitions, a.step_transitions) r
  JOIN LATERAL json_populate_recordset(NULL:::TASKER_SCHEMA.steps, a.steps) s ON s.id = r.step_id
  WHERE (p_task_id IS NULL OR a.id = p_task_id)
    AND (p_step_id IS NULL OR (a.step_ids @> ARRAY[p_step_id] AND r.step_id = p_step_id))
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.archived_step_transition_history(bigint, bigint) IS
  'The step transitions of an archived task (p_task_id) or of one archived step (p_step_id), with the '
  'step''s name, its task and most_recent flagged.';
