import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bodyCommentCount,
  formatOf,
  formatSpec,
  hasErrors,
  headerComments,
  parseSpec,
  validateSchema,
  type SpecFormat,
} from '../compiler/index.js';
import { guardOutputs } from '../runtime/data/index.js';
import {
  isDiagnostic,
  readSource,
  reportDiagnostics,
  UsageError,
  writeFileAtomic,
  type CliIO,
  type DiagnosticFormat,
} from './io.js';

export interface FmtOptions {
  readonly to?: string;
  readonly write: boolean;
  readonly check: boolean;
  readonly output?: string;
  readonly format: DiagnosticFormat;
  /** Replace an existing file (other than the spec itself) that unetc did not write. */
  readonly overwrite?: boolean;
}

const schemaFile = fileURLToPath(new URL('../../schema/unetc.schema.json', import.meta.url));
const extensionOf: Record<SpecFormat, string> = { yaml: '.yaml', dsl: '.unet' };

/** `unetc fmt SPEC`: canonical text, in the same format or converted (--to), printed or written. */
export function runFmt(io: CliIO, file: string, options: FmtOptions): number {
  if (options.to !== undefined && options.to !== 'yaml' && options.to !== 'dsl')
    throw new UsageError(`--to takes 'yaml' or 'dsl', found '${options.to}'`);
  if (options.write && options.output !== undefined) throw new UsageError('give --write or --output, not both');
  const from = formatOf(file);
  const source = readSource(file);
  if (isDiagnostic(source)) {
    reportDiagnostics(io, [source], options.format);
    return 1;
  }
  const parsed = parseSpec(source, from);
  const diagnostics = [...parsed.diagnostics, ...(parsed.value ? validateSchema(parsed.value) : [])];
  if (!parsed.value || hasErrors(diagnostics)) {
    reportDiagnostics(io, diagnostics, options.format);
    return 1;
  }
  const to = (options.to as SpecFormat | undefined) ?? from ?? 'yaml';
  const outputFormat = options.output !== undefined ? formatOf(options.output) : undefined;
  if (outputFormat !== undefined && outputFormat !== to) {
    throw new UsageError(
      `'${options.output}' names a ${outputFormat === 'yaml' ? 'YAML' : 'DSL'} file, but the output is ${to === 'yaml' ? 'YAML' : 'DSL'}: use a ${extensionOf[to]} name or --to ${outputFormat}`,
    );
  }
  const target =
    options.output ??
    (options.write ? (to === from ? file : file.replace(/\.(ya?ml|unet)$/i, '') + extensionOf[to]) : undefined);
  const schemaPath = relative(dirname(resolve(target ?? file)), schemaFile)
    .split('\\')
    .join('/');
  const text = formatSpec(parsed.value.value, { to, header: headerComments(source.body), schemaPath });

  if (options.check) {
    if (to !== from) throw new UsageError('--check compares a file with its own canonical form; leave out --to');
    if (text === source.body) return 0;
    io.stderr(`${file}: not in canonical form (run unetc fmt --write ${file})\n`);
    return 1;
  }
  const lost = bodyCommentCount(source.body);
  if (target === undefined) {
    io.stdout(text);
  } else {
    // -w on the spec itself is what the user asked for; any other file is guarded (my.unet beside
    // my.yaml may be an unrelated spec), unless it already holds exactly this text.
    const other = resolve(target) !== resolve(file);
    if (other && !(existsSync(target) && sameText(target, text)))
      guardOutputs([target], {
        overwrite: options.overwrite,
        what: `the ${to === 'yaml' ? 'YAML' : 'DSL'} form of ${file}`,
      });
    writeFileAtomic(target, text);
    io.stderr(`wrote ${target}\n`);
  }
  if (lost > 0)
    io.stderr(
      `note: ${lost} comment line${lost === 1 ? '' : 's'} inside the spec ${lost === 1 ? 'is' : 'are'} not kept by canonical formatting (header comments are)\n`,
    );
  return 0;
}

function sameText(path: string, text: string): boolean {
  try {
    return readFileSync(path, 'utf8') === text;
  } catch {
    return false;
  }
}
