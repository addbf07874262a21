/**
 * The one error type unetc raises for what a user can act on: a wrong flag, bad or missing data,
 * a damaged checkpoint or model, a job that cannot fit. It names the file (when there is one) and
 * says what is wrong there; the CLI catches it in one place (cli/main.ts), prints `error: ` and
 * the message (after any `details`, one per line) and exits with `exitCode`: 1 for bad input, 2
 * for bad usage. Anything else that reaches that catch is a bug in unetc and is reported as one.
 * The kinds below (DataError, CheckpointError, ...) are subclasses, for code that handles one.
 */
export class UnetcError extends Error {
  /** The file or folder the problem is in, when there is one. */
  readonly file: string | undefined;
  /** The message without the file. */
  readonly problem: string;
  readonly exitCode: 1 | 2;
  /** Problems to print before the message, one per line (e.g. each bad file of a data folder). */
  readonly details: readonly string[];

  constructor(
    file: string | undefined,
    problem: string,
    options: { readonly exitCode?: 1 | 2; readonly details?: readonly string[]; readonly cause?: unknown } = {},
  ) {
    super(
      file === undefined ? problem : `${file}: ${problem}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = new.target.name;
    this.file = file;
    this.problem = problem;
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details ?? [];
  }
}

/** A usage error (exit 2): wrong flags or arguments, as opposed to a bad spec (exit 1). */
export class UsageError extends UnetcError {
  constructor(problem: string) {
    super(undefined, problem, { exitCode: 2 });
  }
}

/**
 * Every problem with a data file (an image, a mask, a volume, a folder of them, a file unetc writes).
 * The message starts with the file it is about and says what is wrong, so a CLI can print it as is.
 */
export class DataError extends UnetcError {
  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super(path, problem, options);
  }

  /** The file (or folder) the problem is in. */
  get path(): string {
    return this.file!;
  }
}
