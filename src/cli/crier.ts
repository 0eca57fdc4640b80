/** The executable entry of the `crier` command (bin/crier.js loads the built copy). */
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
    // A command that failed is done: a client left connecting (a store that never answered) must not keep
    // the process alive.
    if (typeof code === 'number' && code !== 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
