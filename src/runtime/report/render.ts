/**
 * The run report as one static HTML string: summary, curves, validation images, the architecture
 * diagram, the spec and the manifest. Everything is inline (CSS, SVG, PNG data: URIs) and a
 * Content-Security-Policy forbids any fetch, so the page works offline and leaks nothing.
 */
import { splitText, type Graph } from '../../compiler/ir/index.js';
import { checkInputSize, defaultSize } from '../../compiler/shape/index.js';
import { isUnetGraph, renderGraphSvg, renderUnetSvg, vizSize } from '../../compiler/viz/index.js';
import type { RunManifest } from '../train/run.js';
import { lineChart } from './chart.js';
import { escapeHtml, fixed } from './html.js';
import { bestEpoch, type EpochMetrics } from './metrics.js';
import type { SamplePanels } from './overlay.js';
import { REPORT_CSS } from './style.js';

/** What the page shows; the pictures are already made (see `samplePanels`). */
export interface ReportPage {
  readonly runDir: string;
  readonly graph: Graph;
  readonly specText: string;
  readonly manifest: RunManifest;
  readonly metrics: readonly EpochMetrics[];
  readonly samples: readonly SamplePanels[];
  /** Why there are no samples, when there are none (no model yet, data missing ...). */
  readonly samplesNote?: string;
  /** When the report was made (default: now). */
  readonly generated?: Date;
}

/** No fetches of any kind; inline styles and data: images only. */
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const e = escapeHtml;

/** The viz SVG at the training patch (else the default size), without its XML declaration. */
export function diagramSvg(graph: Graph, patch: readonly number[] | undefined): string {
  const fits =
    patch !== undefined && patch.length === graph.dims && checkInputSize(graph, patch, undefined, '').length === 0;
  const at = vizSize(fits ? patch : graph.inputSize === 'any' ? defaultSize(graph) : graph.inputSize);
  try {
    const svg = isUnetGraph(graph, at) ? renderUnetSvg(graph, at) : renderGraphSvg(graph, at);
    return svg.replace(/^<\?xml[^>]*\?>\s*/, '');
  } catch (error) {
    return `<p class="note">no diagram: ${e(error instanceof Error ? error.message : String(error))}</p>`;
  }
}

/** An ISO time as "2026-11-26 19:15:59 UTC" (as it is when it does not parse). */
function dateText(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function card(label: string, value: string, sub: string, cls = '', valueCls = ''): string {
  return `<div class="card${cls ? ` ${cls}` : ''}"><div class="label">${e(label)}</div><div class="value${valueCls ? ` ${valueCls}` : ''}">${e(value)}</div><div class="sub">${e(sub)}</div></div>`;
}

/** "5 min", "90 s", "1 h 30 min". */
function formatBudget(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function table(rows: readonly (readonly [string, string])[]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`).join('')}</table>`;
}

function summaryCards(p: ReportPage): string {
  const best = bestEpoch(p.metrics);
  const last = p.metrics[p.metrics.length - 1];
  const s = p.manifest.settings;
  const planned =
    s.timeBudgetMs !== undefined
      ? undefined
      : s.maxSteps !== undefined
        ? Math.min(s.epochs, Math.ceil(s.maxSteps / s.stepsPerEpoch))
        : s.epochs;
  return `<section class="cards">
${card('Best validation Dice', fixed(best?.val_dice), best ? `epoch ${best.epoch} of ${p.metrics.length}` : 'no epoch finished', 'highlight')}
${card('Validation IoU', fixed(best?.val_iou), best ? `pixel accuracy ${fixed(best.val_pixel_accuracy)}` : '\u2013')}
${card('Training loss', fixed(last?.loss), last ? `last epoch (${s.loss})` : '\u2013')}
${planned === undefined ? card('Time budget', formatBudget(s.timeBudgetMs!), `${last?.step ?? 0} steps, batch ${s.batch}`) : card('Epochs', `${p.metrics.length} / ${planned}`, `${last?.step ?? 0} steps, batch ${s.batch}`)}
${card('Engine', p.manifest.engine, `tfjs ${p.manifest.versions.tfjs}, unetc ${p.manifest.versions.unetc}`, '', 'small')}
</section>`;
}

function runTables(p: ReportPage): string {
  const m = p.manifest;
  const s = m.settings;
  const d = m.data;
  const run: [string, string][] = [
    ['spec', `${m.spec.name} (${m.spec.file})`],
    ...(p.graph.description ? [['description', p.graph.description] as [string, string]] : []),
    ['spec sha256', m.spec.sha256],
    ['started', dateText(m.created)],
    ['run folder', p.runDir],
    ['data', d.source],
    [p.graph.dims === 3 ? 'volumes' : 'images', `${d.train} training, ${d.val} validation`],
    ['data fingerprint', d.fingerprint],
    ['input normalization', m.inputNormalization],
    [
      'network',
      `${p.graph.inputChannels} input channel${p.graph.inputChannels === 1 ? '' : 's'} \u2192 ${p.graph.instances ? `1 class with instance boundaries (${p.graph.classes} channels: background, interior, boundary; touching objects are split: ${splitText(p.graph.split)})` : `${p.graph.classes} class${p.graph.classes === 1 ? '' : 'es'}`} (${p.graph.activation})`,
    ],
  ];
  const o = s.optimizer;
  const settings: [string, string][] = [
    s.timeBudgetMs !== undefined
      ? [
          'time budget',
          `${formatBudget(s.timeBudgetMs)} (as many steps as fit${s.epochsCap ? `, at most ${s.epochs} epochs x ${s.stepsPerEpoch} steps` : ''})`,
        ]
      : ['epochs', `${s.epochs} x ${s.stepsPerEpoch} steps`],
    ['batch', String(s.batch)],
    ['patch', s.patch.join('x')],
    [
      'loss',
      `${s.loss}${s.contactWeight !== undefined && s.contactWeight !== 1 ? `, contacts between instances weigh ${s.contactWeight}x` : ''}`,
    ],
    [
      'optimizer',
      `${o.name}, learning rate ${o.learningRate}${o.momentum !== undefined ? `, momentum ${o.momentum}` : ''}`,
    ],
    ['schedule', `${s.schedule}${s.warmup ? `, warm-up over ${Math.round(s.warmup * 100)}% of the run` : ''}`],
    ['early stopping', s.earlyStopping === undefined ? 'off' : `after ${s.earlyStopping} epochs without a better Dice`],
    ['max steps', s.maxSteps === undefined ? 'none' : String(s.maxSteps)],
    ['seed', String(s.seed)],
    ['augmentation', JSON.stringify(s.augmentation)],
  ];
  return `<div class="two"><section><h2>Run</h2>${table(run)}</section><section><h2>Settings</h2>${table(settings)}</section></div>`;
}

function charts(p: ReportPage): string {
  const best = bestEpoch(p.metrics);
  const marker = best ? { x: best.epoch, label: `best: epoch ${best.epoch}` } : undefined;
  const at = (f: (m: EpochMetrics) => number) => p.metrics.map((m) => [m.epoch, f(m)] as const);
  const loss = lineChart({
    title: 'Training loss',
    xLabel: 'epoch',
    yLabel: `loss (${p.manifest.settings.loss}, mean over the epoch)`,
    series: [{ label: 'training loss', color: '#2457c5', points: at((m) => m.loss) }],
    ...(marker ? { marker } : {}),
  });
  const scores = lineChart({
    title: 'Validation scores',
    xLabel: 'epoch',
    yLabel: 'score',
    yClamp: [0, 1],
    series: [
      { label: 'Dice', color: '#d1495b', points: at((m) => m.val_dice) },
      { label: 'IoU', color: '#2a9d8f', points: at((m) => m.val_iou) },
      { label: 'pixel accuracy', color: '#8a94a8', points: at((m) => m.val_pixel_accuracy), dash: '6 4' },
    ],
    ...(marker ? { marker: { ...marker, label: `best: Dice ${fixed(best?.val_dice)} at epoch ${best?.epoch}` } } : {}),
  });
  return `<section><h2>Training curves<small>one point per epoch; validation counts pooled over the validation images</small></h2><div class="charts"><div>${loss}</div><div>${scores}</div></div></section>`;
}

function diceClass(d: number): string {
  return d >= 0.85 ? 'good' : d >= 0.6 ? 'fair' : 'poor';
}

function samples(p: ReportPage): string {
  const several = p.graph.classes > 2;
  const legend = several
    ? '<span>truth: filled by class, outlined</span><span>prediction: filled by class, truth outlined in white</span>'
    : '<span><i class="swatch" style="background:#00e65a"></i>true mask (outline and fill)</span><span><i class="swatch" style="background:#ff283c"></i>predicted mask (fill)</span>';
  const figures = p.samples.map((s) => {
    const alt = (what: string) => e(`${s.name}: ${what}`);
    const img = (src: string, what: string) =>
      `<div><img src="${src}" width="${s.width}" height="${s.height}" alt="${alt(what)}"/><div class="cap">${e(what)}</div></div>`;
    return `<figure class="sample"><figcaption><span>${e(s.name)}</span><span class="dice ${diceClass(s.dice)}">Dice ${fixed(s.dice, 3)}</span></figcaption><div class="panels">${img(s.image, 'image')}${img(s.truth, 'truth')}${img(s.predicted, 'prediction (truth outlined)')}</div></figure>`;
  });
  const body =
    figures.length > 0
      ? `<div class="legend-row">${legend}</div><div class="samples">${figures.join('\n')}</div>`
      : `<p class="note">${e(p.samplesNote ?? 'no validation images')}</p>`;
  const n = p.samples.length;
  return `<section><h2>Validation images<small>${n > 0 ? `${n} of ${p.manifest.data.val}, predicted by the best checkpoint; contrast stretched for display` : ''}</small></h2>${body}</section>`;
}

/** JSON on one line with a space after `:` and `,` (undefined members dropped, as JSON does). */
function flatJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : flatJson(v))).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${flatJson(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Pretty JSON that keeps short arrays and objects on one line (`[64, 64]`, `{"flip": true}`). */
export function prettyJson(value: unknown, indent = ''): string {
  const flat = flatJson(value);
  if (value === null || typeof value !== 'object' || indent.length + flat.length <= 72) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value))
    return `[\n${value.map((v) => `${inner}${prettyJson(v ?? null, inner)}`).join(',\n')}\n${indent}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`).join(',\n')}\n${indent}}`;
}

function manifestJson(m: RunManifest): string {
  // The spec text and the network are shown above; repeating them as JSON would only be noise.
  const shown = {
    ...m,
    spec: { ...m.spec, text: `(${m.spec.text.length} characters: see "Spec" above)` },
    ...(m.graph ? { graph: `(the checked IR, ${m.graph.ops.length} ops: see the diagram above)` } : {}),
  };
  return prettyJson(shown);
}

/** The whole report page. */
export function renderRunReport(p: ReportPage): string {
  const m = p.manifest;
  const generated = p.generated ?? new Date();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta http-equiv="Content-Security-Policy" content="${CSP}"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<meta name="generator" content="unetc ${e(m.versions.unetc)}"/>
<title>${e(`${m.spec.name}: unetc run report`)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header><h1>${e(m.spec.name)}<span class="kind">training run report</span></h1><p><code>${e(p.runDir)}</code> &#183; started ${e(dateText(m.created))} &#183; ${e(m.data.source)}</p></header>
<main>
${summaryCards(p)}
${charts(p)}
${samples(p)}
<section><h2>Architecture<small>at the training patch size</small></h2><div class="diagram">${diagramSvg(p.graph, m.settings.patch)}</div></section>
${runTables(p)}
<div class="two"><section><h2>Spec<small>${e(m.spec.file)}</small></h2><pre class="spec">${e(p.specText)}</pre></section>
<section><h2>Run manifest<small>run.json</small></h2><pre class="manifest">${e(manifestJson(m))}</pre></section></div>
</main>
<footer>made by unetc ${e(m.versions.unetc)} on ${e(generated.toISOString())} &#183; a static page: no scripts, nothing fetched</footer>
</body>
</html>
`;
}
