/** Number formatting for tables: 31,054,145; 48.09 G; 1.11 GB. */
export const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

export function si(n: number, unit = ''): string {
  const steps: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [v, s] of steps) if (Math.abs(n) >= v) return `${(n / v).toFixed(2)} ${s}${unit}`;
  return `${n} ${unit}`.trim();
}

export function bytes(n: number): string {
  return si(n, 'B');
}

/** Left-aligned text columns, right-aligned numbers. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: readonly boolean[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

/** "256x256" or "256" (square) -> [256, 256]; undefined when malformed. */
export function parseSize(text: string, dims: 2 | 3 = 2): number[] | undefined {
  const m = /^(\d{1,5})(?:x(\d{1,5}))?(?:x(\d{1,5}))?$/i.exec(text.trim());
  if (!m) return undefined;
  const parts = [m[1], m[2], m[3]].filter((p): p is string => p !== undefined).map(Number);
  const size = parts.length === 1 ? Array.from({ length: dims }, () => parts[0]!) : parts;
  return size.length === dims && size.every((s) => s >= 1) ? size : undefined;
}
