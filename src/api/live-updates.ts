/**
 * Live updates over server-sent events. One subscription per server to the database's task and step
 * notifications (so changes made by any process on the schema arrive), fanned out to every open stream.
 * Notifications carry ids and states only; the names the events promise are looked up once per task
 * (all its steps at once) and cached, and only while someone is listening.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StateChange } from '../engine/change-feed.js';
import type { Tasker } from '../tasker.js';

export interface TaskEvent {
  id: number;
  state: string;
  namespace: string;
  name: string;
  version: string;
}
export interface StepEvent {
  id: number;
  taskId: number;
  name: string;
  state: string;
}
export type LiveEvent =
  | { event: 'task'; data: TaskEvent }
  | { event: 'step'; data: StepEvent }
  | { event: 'resync'; data: Record<string, never> };

interface Listener {
  readonly taskId: number | null;
  send(event: LiveEvent): void;
  /** Ends the stream (server closing). */
  end(): void;
}

interface TaskInfo {
  namespace: string;
  name: string;
  version: string;
  steps: Map<number, string>;
}

const CACHE_LIMIT = 2000;

export interface LiveUpdates {
  /** Adds a listener (starting the database subscription on first use); returns its removal. */
  add(listener: Listener): Promise<() => void>;
  close(): Promise<void>;
}

export function createLiveUpdates(tasker: Tasker, onError: (error: unknown) => void): LiveUpdates {
  const listeners = new Set<Listener>();
  const info = new Map<number, Promise<TaskInfo | null>>();
  let subscription: Promise<() => void> | null = null;
  let chain: Promise<void> = Promise.resolve();

  const lookup = (taskId: number, refresh: boolean): Promise<TaskInfo | null> => {
    let found = refresh ? undefined : info.get(taskId);
    if (!found) {
      found = tasker.getTask(taskId).then(
        (t) => ({
          namespace: t.namespace,
          name: t.name,
          version: t.version,
          steps: new Map(t.steps.map((s) => [s.id, s.name])),
        }),
        () => null,
      );
      info.set(taskId, found);
      if (info.size > CACHE_LIMIT) info.delete(info.keys().next().value!);
    }
    return found;
  };

  const broadcast = (taskId: number | null, event: LiveEvent) => {
    for (const l of listeners) {
      if (l.taskId !== null && taskId !== null && l.taskId !== taskId) continue;
      try {
        l.send(event);
      } catch (error) {
        onError(error);
      }
    }
  };

  // Changes are handled one after another so each stream sees them in the order the database sent them.
  const onChange = (change: StateChange) => {
    chain = chain
      .then(async () => {
        if (listeners.size === 0) return;
        let meta = await lookup(change.taskId, false);
        if (change.kind === 'step' && meta && !meta.steps.has(change.stepId))
          meta = await lookup(change.taskId, true);
        if (!meta) return;
        if (change.kind === 'task') {
          broadcast(change.taskId, {
            event: 'task',
            data: {
              id: change.taskId,
              state: change.state,
              namespace: meta.namespace,
              name: meta.name,
              version: meta.version,
            },
          });
        } else {
          broadcast(change.taskId, {
            event: 'step',
            data: {
              id: change.stepId,
              taskId: change.taskId,
              name: meta.steps.get(change.stepId) ?? '',
              state: change.state,
            },
          });
        }
      })
      .catch(onError);
  };

  return {
    async add(listener) {
      subscription ??= tasker.subscribeStateChanges({
        onChange,
        // Notifications may have been missed while reconnecting: tell clients to reload what they show.
        onGap: () => broadcast(null, { event: 'resync', data: {} }),
      });
      try {
        await subscription;
      } catch (error) {
        subscription = null;
        throw error;
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      for (const l of listeners) l.end();
      listeners.clear();
      const sub = subscription;
      subscription = null;
      if (sub) (await sub.catch(() => () => {}))();
    },
  };
}

/** Streams events to one client until it disconnects; heartbeat comments keep proxies from closing it. */
export async function streamEvents(
  live: LiveUpdates,
  request: FastifyRequest,
  reply: FastifyReply,
  taskId: number | null,
  options: { heartbeatMs: number; headers: Record<string, string> },
): Promise<void> {
  const raw = reply.raw;
  let open = false;
  const early: string[] = [];
  const write = (text: string) => {
    if (open) raw.write(text);
    else early.push(text);
  };
  // Subscribe first: if the database cannot be listened to, the client gets a problem response.
  const remove = await live.add({
    taskId,
    send: (e) => write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`),
    end: () => raw.end(),
  });
  reply.hijack();
  raw.writeHead(200, {
    ...options.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write('retry: 3000\n: connected\n\n');
  open = true;
  for (const text of early.splice(0)) raw.write(text);
  const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), options.heartbeatMs);
  heartbeat.unref();
  const cleanup = () => {
    clearInterval(heartbeat);
    remove();
  };
  request.raw.on('close', cleanup);
  raw.on('close', cleanup);
  raw.on('error', cleanup);
}
