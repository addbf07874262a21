import { UnetcError } from '../../util/error.js';

/**
 * Every problem with a checkpoint on disk. The message starts with the file (or directory) it is
 * about and says what is wrong, so a CLI can print it as is.
 */
export class CheckpointError extends UnetcError {
  declare readonly file: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(file, problem, options);
  }
}
