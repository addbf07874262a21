import { deflateRawSync } from 'node:zlib';

// A test-only DICOM Part 10 encoder, with tags and VRs typed in from PS3.6 (not from the reader).

export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_BE = '1.2.840.10008.1.2.2';
export const DEFLATED = '1.2.840.10008.1.2.1.99';
export const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';

export type Value = string | readonly number[] | Uint8Array;
/** [group, element, VR, value]; numbers are US (or UL for group lengths), strings are padded. */
export type Elem = readonly [number, number, string, Value];

const longVrs = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);

function valueBytes(vr: string, v: Value, le: boolean): Uint8Array {
  if (v instanceof Uint8Array) return v.length % 2 ? Uint8Array.of(...v, 0) : v;
  if (typeof v === 'string') {
    const s = v.length % 2 ? v + (vr === 'UI' ? '\0' : ' ') : v;
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }
  const size = vr === 'UL' ? 4 : 2;
  const out = new Uint8Array(v.length * size);
  const view = new DataView(out.buffer);
  v.forEach((x, i) => (size === 4 ? view.setUint32(i * 4, x, le) : view.setUint16(i * 2, x, le)));
  return out;
}

function encodeElements(elems: readonly Elem[], explicit: boolean, le: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [group, element, vr, value] of elems) {
    const body = valueBytes(vr, value, le);
    const head = new DataView(new ArrayBuffer(explicit && !longVrs.has(vr) ? 8 : explicit ? 12 : 8));
    head.setUint16(0, group, le);
    head.setUint16(2, element, le);
    if (!explicit) head.setUint32(4, body.length, le);
    else {
      head.setUint8(4, vr.charCodeAt(0));
      head.setUint8(5, vr.charCodeAt(1));
      if (longVrs.has(vr)) head.setUint32(8, body.length, le);
      else head.setUint16(6, body.length, le);
    }
    parts.push(new Uint8Array(head.buffer), body);
  }
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Encapsulated pixel data (undefined length): empty offset table, one fragment, delimiter. */
function encapsulatedPixelData(fragment: Uint8Array): Uint8Array {
  const item = (tagLow: number, body: Uint8Array) => {
    const h = new DataView(new ArrayBuffer(8));
    h.setUint16(0, 0xfffe, true);
    h.setUint16(2, tagLow, true);
    h.setUint32(4, body.length, true);
    return concat([new Uint8Array(h.buffer), body]);
  };
  const h = new DataView(new ArrayBuffer(12));
  h.setUint16(0, 0x7fe0, true);
  h.setUint16(2, 0x0010, true);
  h.setUint8(4, 0x4f);
  h.setUint8(5, 0x42);
  h.setUint32(8, 0xffffffff, true);
  return concat([
    new Uint8Array(h.buffer),
    item(0xe000, new Uint8Array()),
    item(0xe000, fragment),
    item(0xe0dd, new Uint8Array()),
  ]);
}

export interface SliceSpec {
  readonly transferSyntax?: string;
  readonly series?: string;
  readonly description?: string;
  readonly rows?: number;
  readonly columns?: number;
  /** [row spacing, column spacing], as DICOM stores it. */
  readonly pixelSpacing?: readonly number[];
  readonly orientation?: readonly number[] | null;
  readonly position?: readonly number[] | null;
  readonly thickness?: number | null;
  readonly instance?: number;
  readonly bits?: 8 | 16;
  readonly stored?: number;
  readonly signed?: boolean;
  readonly photometric?: string;
  readonly samples?: number;
  readonly frames?: number;
  readonly slope?: number;
  readonly intercept?: number;
  /** Stored values, rows x columns, row-major (two's complement when negative). */
  readonly pixels?: readonly number[];
  /** Pixel data bytes to cut off the end. */
  readonly truncate?: number;
  /** Leave out the pixel data (a non-image object) and use this SOP class. */
  readonly sopClass?: string;
  readonly noPixels?: boolean;
}

/** Decimal strings (DS) hold at most 16 characters: round away float noise such as 37.50000000000001. */
const ds = (v: readonly number[]): string => v.map((x) => String(Number(x.toFixed(6)))).join('\\');

/** One DICOM Part 10 file. */
export function encodeDicom(o: SliceSpec = {}): Uint8Array {
  const ts = o.transferSyntax ?? EXPLICIT_LE;
  const [rows, columns, bits] = [o.rows ?? 3, o.columns ?? 4, o.bits ?? 16];
  const pixels = o.pixels ?? Array.from({ length: rows * columns }, (_, p) => p);
  const pix = new Uint8Array(rows * columns * (bits / 8));
  const pv = new DataView(pix.buffer);
  pixels.forEach((v, p) =>
    bits === 8 ? pv.setUint8(p, v & 0xff) : pv.setUint16(2 * p, v & 0xffff, ts !== EXPLICIT_BE),
  );
  const sop = o.sopClass ?? CT_IMAGE;
  const meta = encodeElements(
    [
      [2, 1, 'OB', Uint8Array.of(0, 1)],
      [2, 2, 'UI', sop],
      [2, 3, 'UI', `1.2.3.4.${o.instance ?? 1}`],
      [2, 0x10, 'UI', ts],
    ],
    true,
    true,
  );
  const elems: Elem[] = [
    [8, 0x16, 'UI', sop],
    [8, 0x18, 'UI', `1.2.3.4.${o.instance ?? 1}`],
    [8, 0x60, 'CS', 'CT'],
    [8, 0x103e, 'LO', o.description ?? 'oblique test'],
  ];
  if (o.thickness !== null) elems.push([0x18, 0x50, 'DS', String(o.thickness ?? 2.5)]);
  elems.push(
    [0x20, 0x0e, 'UI', o.series ?? '1.2.826.0.1.3680043.2.1125.1'],
    [0x20, 0x13, 'IS', String(o.instance ?? 1)],
  );
  if (o.position !== null) elems.push([0x20, 0x32, 'DS', ds(o.position ?? [0, 0, 0])]);
  if (o.orientation !== null) elems.push([0x20, 0x37, 'DS', ds(o.orientation ?? [1, 0, 0, 0, 1, 0])]);
  elems.push([0x28, 0x02, 'US', [o.samples ?? 1]], [0x28, 0x04, 'CS', o.photometric ?? 'MONOCHROME2']);
  if (o.frames !== undefined) elems.push([0x28, 0x08, 'IS', String(o.frames)]);
  elems.push(
    [0x28, 0x10, 'US', [rows]],
    [0x28, 0x11, 'US', [columns]],
    [0x28, 0x30, 'DS', ds(o.pixelSpacing ?? [0.7, 0.9])],
    [0x28, 0x100, 'US', [bits]],
    [0x28, 0x101, 'US', [o.stored ?? bits]],
    [0x28, 0x102, 'US', [(o.stored ?? bits) - 1]],
    [0x28, 0x103, 'US', [o.signed ? 1 : 0]],
    [0x28, 0x1052, 'DS', String(o.intercept ?? 0)],
    [0x28, 0x1053, 'DS', String(o.slope ?? 1)],
  );
  const compressed = !(ts in { [EXPLICIT_LE]: 1, [IMPLICIT_LE]: 1, [EXPLICIT_BE]: 1, [DEFLATED]: 1 });
  if (!o.noPixels && !compressed)
    elems.push([0x7fe0, 0x10, bits === 8 ? 'OB' : 'OW', pix.subarray(0, pix.length - (o.truncate ?? 0))]);
  let body = encodeElements(elems, ts !== IMPLICIT_LE, ts !== EXPLICIT_BE);
  if (compressed && !o.noPixels) body = concat([body, encapsulatedPixelData(Uint8Array.of(0xff, 0xd8, 0xff, 0xd9))]);
  if (ts === DEFLATED) body = deflateRawSync(body);
  const groupLength = encodeElements([[2, 0, 'UL', [meta.length]]], true, true);
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concat([preamble, groupLength, meta, body]);
}
