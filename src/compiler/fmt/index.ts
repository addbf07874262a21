import type { JsonValue } from '../spec/document.js';
import { printDsl } from '../syntax/index.js';
import { printYaml } from './yaml.js';

export { printYaml };

/** The comment lines at the top of a spec (its header), without a yaml-language-server modeline. */
export function headerComments(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t.startsWith('#') || t.startsWith('//')) {
      if (!/yaml-language-server:/.test(t)) out.push(t.startsWith('//') ? `#${t.slice(2)}` : t);
    } else if (t === '' && out.length > 0) out.push('');
    else if (t !== '') break;
  }
  // A bare '#' that only separated the modeline from the text is not part of the header.
  const blank = (l: string | undefined) => l === '' || l === '#' || l === '//';
  while (out.length > 0 && blank(out[0])) out.shift();
  while (out.length > 0 && blank(out[out.length - 1])) out.pop();
  return out;
}

/** How many comment lines a file has beyond its header: canonical printing does not keep those. */
export function bodyCommentCount(text: string): number {
  const meaningful = (l: string) => /^\s*(#|\/\/)\s*\S/.test(l) && !/yaml-language-server:/.test(l);
  const all = text.split(/\r?\n/).filter(meaningful).length;
  return Math.max(0, all - headerComments(text).filter(meaningful).length);
}

export interface FormatOptions {
  readonly to: 'yaml' | 'dsl';
  /** Header comment lines to keep at the top. */
  readonly header?: readonly string[];
  /** Relative path from the output file to the schema, for the YAML modeline. */
  readonly schemaPath?: string;
}

/** Canonical text of a spec value in either format, with its header comments kept. */
export function formatSpec(value: JsonValue, options: FormatOptions): string {
  const header = options.header && options.header.length > 0 ? `${options.header.join('\n')}\n` : '';
  if (options.to === 'dsl') return `${header}${printDsl(value)}`;
  const yaml = printYaml(value, options.schemaPath);
  const [modeline, ...rest] = yaml.split('\n');
  return `${modeline}\n${header ? `#\n${header}` : ''}${rest.join('\n')}`;
}
