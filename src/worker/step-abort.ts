/**
 * An attempt's abort switch (timeout, task cancelled, lease lost, worker stopping). The handler's
 * `ctx.signal` is made from it only when something reads it: most handlers never do, and listening to a
 * Node AbortSignal (an EventTarget) cost the worker about 3 µs per step (micro-benchmark: an attempt's
 * switch, its abort race and context 4.4 -> 1.2 µs, most of the rest the context's spread; the drain's
 * process CPU 56 -> 52 µs per task).
 */
export interface StepAbort {
  readonly aborted: boolean;
  /** Why it was aborted; undefined until then. */
  readonly reason: unknown;
  /** An AbortSignal that follows this switch (made on first use, aborted at once if the switch is). */
  readonly signal: AbortSignal;
  /** Aborts with `reason`; the first abort wins, later ones do nothing. */
  abort(reason: unknown): void;
  /** Calls `listener` once when aborted (at once if it already is). */
  onAbort(listener: (reason: unknown) => void): void;
}

/** A class, not a literal with getters: V8 makes such a literal in about 0.8 µs, a class instance in ns. */
class LazyStepAbort implements StepAbort {
  #aborted = false;
  #reason: unknown;
  #controller: AbortController | undefined;
  #listeners: Array<(reason: unknown) => void> | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
  }

  onAbort(listener: (reason: unknown) => void): void {
    if (this.#aborted) {
      listener(this.#reason);
      return;
    }
    this.#listeners ??= [];
    this.#listeners.push(listener);
  }
}

export function createStepAbort(): StepAbort {
  return new LazyStepAbort();
}
