// Runs the CLI from source in a child process (tests that kill or interrupt a run).
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
