/**
 * Who owns an embedded data directory: records `tasker-owner.<generation>.json` in the directory. The
 * highest generation is the owner (or was: a record says `closed` when its owner stopped, and a dead
 * owner's pid is gone). Taking over means creating the NEXT generation's record, which is atomic: the
 * record is written to a private temporary file and hard-linked to its name, and a link never replaces
 * an existing file. So of several processes that find the same owner gone, exactly one gets the next
 * generation; the others read it and become its clients. The highest record is never deleted (only
 * older ones are, by a new owner), so generations only grow and an old reading cannot win twice.
 */
import { linkSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface OwnerRecord {
  readonly generation: number;
  readonly pid: number;
  readonly hostname: string;
  /** How the owner was started, shortened (`tasker serve --port 0`, `node app.js`). */
  readonly command: string;
  readonly startedAt: string;
  /** Linux: the process's start time (ticks since boot), which tells a reused pid from the owner. */
  readonly processStart: string | null;
  /**
   * starting: opening the database; serving: clients connect to `socket`; exclusive: open but not
   * served (`reason` says why); closed: stopped cleanly.
   */
  readonly state: 'starting' | 'serving' | 'exclusive' | 'closed';
  readonly socket: string | null;
  readonly reason?: string;
}

const RECORD = /^tasker-owner\.(\d+)\.json$/;

export const recordPath = (dir: string, generation: number) => join(dir, `tasker-owner.${generation}.json`);

/** The generations present, highest first. */
export function listGenerations(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => RECORD.exec(n)?.[1])
    .filter((g): g is string => g !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
}

/** The record of a generation; null when it is gone; 'unreadable' when it is not a record. */
export function readRecord(dir: string, generation: number): OwnerRecord | null | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(recordPath(dir, generation), 'utf8');
  } catch {
    return null;
  }
  try {
    const record = JSON.parse(text) as OwnerRecord;
    return typeof record.pid === 'number' && typeof record.state === 'string' ? record : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

function writeTemp(dir: string, record: OwnerRecord): string {
  const temp = join(dir, `.tasker-owner.${record.generation}.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
  return temp;
}

/** Creates the record of a new generation; false when another process created it first. */
export function claimGeneration(dir: string, record: OwnerRecord): boolean {
  const temp = writeTemp(dir, record);
  try {
    linkSync(temp, recordPath(dir, record.generation));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Replaces this process's own record (whole: readers see the old or the new one). */
export function updateRecord(dir: string, record: OwnerRecord): void {
  renameSync(writeTemp(dir, record), recordPath(dir, record.generation));
}

/** Removes the records older than `generation` (their owners are gone: a newer one took over). */
export function removeOlderRecords(dir: string, generation: number): void {
  for (const g of listGenerations(dir)) if (g < generation) rmSync(recordPath(dir, g), { force: true });
}

/** This process's start time on Linux (field 22 of /proc/PID/stat); null elsewhere. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the owner of a record still runs: 'unknown' when it runs on another machine. */
export function ownerLiveness(record: OwnerRecord): 'alive' | 'dead' | 'unknown' {
  if (record.hostname !== hostname()) return 'unknown';
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return 'dead';
  }
  if (record.processStart) {
    const now = processStartTime(record.pid);
    if (now !== null && now !== record.processStart) return 'dead'; // the pid was reused
  }
  return 'alive';
}

/** How this process was started, short enough for a message. */
export function currentCommand(): string {
  const [, script = '', ...args] = process.argv;
  const program = /cli[\\/]main\.[cm]?[jt]s$/.test(script)
    ? 'tasker'
    : `node ${script.split(/[\\/]/).slice(-1)[0] ?? ''}`.trim();
  const text = [program, ...args].join(' ');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function newRecord(generation: number): OwnerRecord {
  return {
    generation,
    pid: process.pid,
    hostname: hostname(),
    command: currentCommand(),
    startedAt: new Date().toISOString(),
    processStart: processStartTime(process.pid),
    state: 'starting',
    socket: null,
  };
}
