/** Live updates over server-sent events, reconnecting by EventSource's own retry. */
import type { LiveEvent, StepState, TaskState } from './types.js';

export type LiveStatus = 'connecting' | 'live' | 'offline';

export interface LiveSubscription {
  close(): void;
}

function parse(data: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(data);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** An event's text (written without the DOM's generic MessageEvent, so Node-typed tests compile it too). */
function dataOf(message: Event): string {
  return String((message as MessageEvent).data);
}

export function subscribe(
  url: string,
  onEvent: (event: LiveEvent) => void,
  onStatus: (status: LiveStatus) => void,
): LiveSubscription {
  if (typeof EventSource === 'undefined') {
    onStatus('offline');
    return { close() {} };
  }
  const source = new EventSource(url);
  onStatus('connecting');
  source.onopen = () => {
    onStatus('live');
    // Nothing from before this moment is in the stream: changes between the page's first load and the
    // stream opening, or while a dropped stream reconnected, would be missed. Pages reload what they show.
    onEvent({ kind: 'resync' });
  };
  source.onerror = () => onStatus(source.readyState === EventSource.CLOSED ? 'offline' : 'connecting');
  source.addEventListener('task', (message) => {
    const data = parse(dataOf(message));
    if (!data || typeof data.id !== 'number') return;
    onEvent({
      kind: 'task',
      id: data.id,
      state: data.state as TaskState,
      namespace: String(data.namespace ?? ''),
      name: String(data.name ?? ''),
      version: String(data.version ?? ''),
    });
  });
  source.addEventListener('step', (message) => {
    const data = parse(dataOf(message));
    if (!data || typeof data.id !== 'number' || typeof data.taskId !== 'number') return;
    onEvent({
      kind: 'step',
      id: data.id,
      taskId: data.taskId,
      name: String(data.name ?? ''),
      state: data.state as StepState,
    });
  });
  source.addEventListener('resync', () => onEvent({ kind: 'resync' }));
  return { close: () => source.close() };
}
