import { CommanderError } from 'commander';
import { UnetcError } from '../util/error.js';
import { writeFailure, type CliIO } from './io.js';

/** Exit codes: 0 ok, 1 a bad spec, bad data or a failed check, 2 a usage error, 70 a bug in unetc. */
export const Exit = { ok: 0, failed: 1, usage: 2, internal: 70 } as const;

/**
 * The one place an error becomes a message and an exit code (main's catch): a `UnetcError` says
 * what is wrong and where; a write the system refused names the file and the reason; anything
 * else is a bug in unetc, and says so (its stack with UNETC_DEBUG=1).
 */
export function reportError(io: CliIO, e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? Exit.ok : Exit.usage;
  if (e instanceof UnetcError) {
    for (const line of e.details) io.stderr(`error: ${line}\n`);
    io.stderr(`error: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.path === 'string') {
    io.stderr(`error: cannot write '${err.path}': ${writeFailure(err)}\n`);
    return Exit.failed;
  }
  io.stderr(
    `unetc: internal error: ${err?.message ?? String(e)}\nThis is a bug in unetc; please report it with the spec that caused it.\n`,
  );
  if (process.env.UNETC_DEBUG) io.stderr(`${err?.stack ?? ''}\n`);
  return Exit.internal;
}
