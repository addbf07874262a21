/**
 * Small HTML helpers for the run report: escaping, number formats, and the check that a page
 * fetches nothing (every reference is a data: URI or a fragment).
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or an attribute value, escaped for HTML (and XML: the inline SVG uses the same). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** A number with `digits` decimals, or an en dash when it is missing or not finite. */
export function fixed(value: number | undefined, digits = 4): string {
  return value === undefined || !Number.isFinite(value) ? '\u2013' : value.toFixed(digits);
}

/**
 * Everything in `html` that would make a browser fetch something: in the markup's tags,
 * src/href/action/poster/... that are not data: URIs or #fragments, `<link>`, `<base>`,
 * `<iframe>`, `<object>`, `<embed>`, `<meta http-equiv="refresh">`; in `<style>` blocks and style
 * attributes, url() of anything but data: and @import. Only real tags are read (escaped text has
 * no `<`), so a spec that mentions `<script src=...>` is not flagged once escaped. An empty list
 * means the page is self-contained. (The SVG namespace in `xmlns` is a name, not a fetch.)
 */
export function externalReferences(html: string): string[] {
  const found: string[] = [];
  const local = (url: string) => /^\s*(data:|#)/i.test(url);
  const css: string[] = [];
  for (const style of html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)) css.push(style[1] ?? '');
  for (const tag of html.matchAll(/<[a-zA-Z][^>]*>/g)) {
    const t = tag[0];
    if (/^<(link|base|iframe|object|embed|frame|applet|portal)\b/i.test(t)) found.push(t);
    if (/^<meta\b/i.test(t) && /http-equiv\s*=\s*["']?refresh/i.test(t)) found.push(t);
    for (const m of t.matchAll(
      /\s(src|href|xlink:href|action|formaction|poster|srcset|background|data|ping|manifest)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/gi,
    )) {
      if (!local(m[3] ?? m[4] ?? m[5] ?? '')) found.push(m[0].trim());
    }
    for (const m of t.matchAll(/\sstyle\s*=\s*("([^"]*)"|'([^']*)')/gi)) css.push(m[2] ?? m[3] ?? '');
  }
  for (const text of css) {
    for (const m of text.matchAll(/url\(\s*(['"]?)([^'")]*)\1\s*\)/gi)) if (!local(m[2] ?? '')) found.push(m[0]);
    for (const m of text.matchAll(/@import[^;]*/gi)) found.push(m[0]);
  }
  return [...new Set(found)];
}
