/**
 * One LISTEN connection per engine, shared by everything in it that waits for the database to say
 * something changed: workers (steps ready, tasks cancelled), waitForTask (task states), live updates.
 * It starts on first use; subscribing to a channel not yet listened to restarts it with the new set
 * (subscribers are told through onReconnect, since a notification may fall in the gap).
 */
import type { Database } from '../db/database.js';

export interface NotificationHub {
  subscribe(channel: string, listener: (payload: string) => void): Promise<() => void>;
  /** Runs after the connection was re-established (notifications may have been missed). */
  onReconnect(listener: () => void): () => void;
  close(): Promise<void>;
}

export function createNotificationHub(
  db: Database,
  onError: (error: unknown) => void = () => {},
): NotificationHub {
  const subscribers = new Map<string, Set<(payload: string) => void>>();
  const reconnectListeners = new Set<() => void>();
  let listening: string[] = [];
  let stop: (() => Promise<void>) | null = null;
  let pending: Promise<void> = Promise.resolve();
  let closed = false;

  const deliver = (channel: string, payload: string) => {
    for (const listener of subscribers.get(channel) ?? []) {
      try {
        listener(payload);
      } catch (error) {
        onError(error);
      }
    }
  };
  const reconnected = () => {
    for (const listener of reconnectListeners) {
      try {
        listener();
      } catch (error) {
        onError(error);
      }
    }
  };

  async function ensureListening(channel: string): Promise<void> {
    if (listening.includes(channel) || closed) return;
    const channels = [...listening, channel];
    const previous = stop;
    stop = null;
    listening = channels;
    if (previous) await previous();
    stop = await db.listen(channels, deliver, reconnected);
    if (previous) reconnected();
  }

  return {
    async subscribe(channel, listener) {
      let set = subscribers.get(channel);
      if (!set) {
        set = new Set();
        subscribers.set(channel, set);
      }
      set.add(listener);
      // Serialize (re)starts so that concurrent subscribers do not open several connections.
      const attempt = pending.catch(() => {}).then(() => ensureListening(channel));
      pending = attempt;
      try {
        await attempt;
      } catch (error) {
        listening = listening.filter((c) => c !== channel);
        set.delete(listener);
        throw error;
      }
      return () => {
        set.delete(listener);
      };
    },
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    async close() {
      closed = true;
      await pending.catch(() => {});
      if (stop) await stop();
      stop = null;
    },
  };
}
