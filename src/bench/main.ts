/**
 * `npm run bench`: the engine's benchmark (see docs/benchmarks.md).
 *
 * @example
 * npm run bench                                   # everything, PostgreSQL and PGlite, 3 runs each
 * npm run bench -- --only a,b --backend pg --runs 1 --scale 0.05
 */
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
