/**
 * The error registry (src/errors.ts) is the one table of codes: every code src/ raises is in it, every
 * code in it is raised somewhere, and docs/api.md lists each with its HTTP status, CLI exit code and
 * summary. Every SQLSTATE our SQL functions raise is in the one SQLSTATE table (src/db/sql-errors.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { classifyDatabaseError } from '../../src/db/sql-errors.js';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';

const root = join(import.meta.dirname, '..', '..');

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path, ext);
    return path.endsWith(ext) && !path.endsWith('.generated.ts') ? [path] : [];
  });
}

const sources = filesUnder(join(root, 'src'), '.ts').filter((f) => !f.endsWith(join('src', 'errors.ts')));
const sourceText = sources.map((f) => readFileSync(f, 'utf8')).join('\n');
const codes = Object.keys(ERROR_CODES) as ErrorCode[];

/** A markdown table row of docs/api.md's code list, as the docs write it. */
function docsRow(code: ErrorCode): string {
  const entry = ERROR_CODES[code];
  return `| \`${code}\` | ${entry.status} | ${entry.exitCode} | ${entry.summary} |`;
}

describe('the error registry', () => {
  test('every code src/ raises, answers or tests for is registered', () => {
    const raised = new Set<string>();
    const patterns = [
      /(?:TaskerError|HttpProblem|problem|CliError)\(\s*(?:[\w.]+,\s*)?'(TASKER_[A-Z_]+)'/g,
      /isTaskerError\([^,()]+,\s*'(TASKER_[A-Z_]+)'\)/g,
      /\bcode:\s*'(TASKER_[A-Z_]+)'/g,
      /\bcode(?::\s*ErrorCode)?\s*=\s*'(TASKER_[A-Z_]+)'/g,
      /:\s*'(TASKER_[A-Z_]+)',?\s*(?:\/\/.*)?$/gm,
    ];
    for (const pattern of patterns) {
      for (const match of sourceText.matchAll(pattern)) raised.add(match[1]!);
    }
    // The patterns find codes (not only environment variable names) in every form src/ uses.
    expect(raised).toContain('TASKER_DATABASE_UNAVAILABLE');
    expect(raised).toContain('TASKER_CLI_ERROR');
    expect(raised).toContain('TASKER_QUERY_TOO_COMPLEX');
    const unregistered = [...raised].filter((c) => !(c in ERROR_CODES) && !/^TASKER_(API|AUTH)_/.test(c));
    expect(unregistered).toEqual([]);
  });

  test('every registered code is used somewhere in src/', () => {
    const unused = codes.filter((code) => !sourceText.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });

  test('docs/api.md lists every code with its status, exit code and summary, and no other code', () => {
    const docs = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
    const rows = docs.split('\n').map((line) => line.replace(/\s+\|/g, ' |').replace(/\|\s+/g, '| '));
    const missing = codes.filter((code) => !rows.includes(docsRow(code)));
    expect(missing, `expected rows:\n${missing.map(docsRow).join('\n')}`).toEqual([]);
    // Rows of the list (other tables name environment variables such as TASKER_IDENTITY_STRATEGY).
    const listed = [...docs.matchAll(/^\| `(TASKER_[A-Z_]+)`\s*\| \d{3}\s*\| \d+\s*\|/gm)].map((m) => m[1]!);
    expect(listed).toHaveLength(codes.length);
    expect(listed.filter((c) => !(c in ERROR_CODES))).toEqual([]);
  });

  test('every SQLSTATE a migration raises is in the SQLSTATE table', () => {
    const migrations = filesUnder(join(root, 'src', 'db', 'migrations'), '.sql');
    const states = new Set<string>();
    for (const file of migrations) {
      for (const m of readFileSync(file, 'utf8').matchAll(/ERRCODE\s*=\s*'([0-9A-Z]{5})'/g))
        states.add(m[1]!);
    }
    expect(states.size).toBeGreaterThan(0);
    expect(states).toContain('TKW01');
    const unknown = [...states].filter((state) => classifyDatabaseError({ code: state }) === null);
    expect(unknown).toEqual([]);
  });
});
