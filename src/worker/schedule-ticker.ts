/**
 * Fires due schedules in a running engine: started with the first worker, it fires what is due, then
 * sleeps until the next schedule is due (at most maxSleepMs, so that schedules added by other processes
 * are seen), and wakes at once when a schedule changes in this process. Every worker runs one; the
 * firing itself makes sure each tick creates one task (src/engine/schedules.ts).
 */
import type { Schedules } from '../engine/schedules.js';
import type { Logger } from '../model/logger.js';

export interface ScheduleTicker {
  start(): void;
  /** Look again now (a schedule changed here). */
  poke(): void;
  stop(): Promise<void>;
}

export function createScheduleTicker(deps: {
  schedules: Pick<Schedules, 'tick' | 'nextDueAt'>;
  logger: Logger;
  /** @defaultValue 30000 */
  maxSleepMs?: number;
}): ScheduleTicker {
  const maxSleepMs = deps.maxSleepMs ?? 30_000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let started = false;
  let stopped = false;

  const sleep = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, Math.max(0, ms));
    timer.unref();
  };

  function run(): void {
    timer = null;
    if (stopped || running) {
      again = true;
      return;
    }
    running = (async () => {
      let next: Date | null = null;
      try {
        await deps.schedules.tick();
        next = await deps.schedules.nextDueAt();
      } catch (error) {
        deps.logger.warn({ err: error }, 'schedules: firing failed; trying again shortly');
        next = new Date(Date.now() + 5000);
      }
      running = null;
      if (again) {
        again = false;
        sleep(0);
      } else {
        sleep(next ? Math.min(maxSleepMs, Math.max(10, next.getTime() - Date.now())) : maxSleepMs);
      }
    })();
  }

  return {
    start() {
      if (started || stopped) return;
      started = true;
      sleep(0);
    },
    poke() {
      if (started && !stopped) sleep(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
