/** The diagnosis stored with every failed attempt: its category and fingerprint (docs/diagnostics.md). */
import { classifyError, type ErrorCategory, type ErrorFacts } from './classify.js';
import { fingerprintError } from './fingerprint.js';

export interface Diagnosis {
  readonly category: ErrorCategory;
  /** Same problem, same fingerprint (class, code, message pattern, top application frame). */
  readonly fingerprint: string;
}

/** The error with its category and fingerprint added (kept when already there). */
export function diagnose<E extends ErrorFacts>(error: E): E & Diagnosis {
  const known = error as E & Partial<Diagnosis>;
  if (known.category && known.fingerprint) return known as E & Diagnosis;
  return { ...error, category: classifyError(error), fingerprint: fingerprintError(error).fingerprint };
}
