/**
 * Malformed specs, one problem each (or a few, for recovery), with the one-line diagnostics they
 * must give. `Y` builds a YAML spec from a valid base with one part replaced; `D` a DSL one.
 */
const yamlBase = {
  head: 'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\n',
  network: 'network:\n  depth: 3\n  filters: [8, 16, 32]\n',
};

export const Y = (parts: { head?: string; network?: string; tail?: string }): string =>
  `${parts.head ?? yamlBase.head}${parts.network ?? yamlBase.network}${parts.tail ?? ''}`;

export const D = (statements: string): string => `unet m {\n  input channels 1\n  output classes 1 sigmoid\n${statements}}\n`;

export const dslNetwork = '  depth 3\n  filters 8 16 32\n';

/** [title, file name, text, expected one-line diagnostics] */
export type Case = readonly [string, string, string, readonly string[]];
