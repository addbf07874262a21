/** Writing report.html: from what the train command holds, or from a run folder on disk. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { specClasses } from '../../compiler/ir/types.js';
import { CheckpointError, recordedGraph } from '../checkpoint/index.js';
import { writeFileAtomic } from '../data/index.js';
import type { Example } from '../train/data.js';
import type { VolumeExample } from '../train/volume-data.js';
import { readRunManifest } from '../train/run.js';
import { readMetrics } from './metrics.js';
import { samplePanels, type ReportSample } from './overlay.js';
import { renderRunReport, type ReportPage } from './render.js';
import { predictSamples, predictVolumeSamples, REPORT_SAMPLES, validationExamples } from './samples.js';

export const REPORT_FILE = 'report.html';

/**
 * Everything a report needs, as the train command has it at the end of a run: the page's
 * contents (run folder, graph, spec text, run.json, metrics.jsonl lines, a note when there are no
 * images), with validation images as true and predicted class maps (up to 8 are shown).
 */
export type RunReportInput = Omit<ReportPage, 'samples'> & { readonly samples: readonly ReportSample[] };

/** Renders report.html and writes it atomically into the run folder; returns its path. */
export async function writeRunReport(input: RunReportInput): Promise<string> {
  const samples = input.samples.slice(0, REPORT_SAMPLES).map((s) => samplePanels(s, specClasses(input.graph)));
  const html = renderRunReport({ ...input, samples });
  const file = join(input.runDir, REPORT_FILE);
  await writeFileAtomic(file, new TextEncoder().encode(html));
  return file;
}

export interface BuildReportOptions {
  /** The validation examples, when the caller has them loaded (else read or regenerated from run.json). */
  readonly examples?: readonly Example[];
  /** A 3D run's validation volumes (shown as their middle slices, segmented in 3D). */
  readonly volumes?: readonly VolumeExample[];
  /** The model to predict with (default: the run folder: model.onnx, else best/). */
  readonly model?: string;
  readonly generated?: Date;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * report.html for an existing run folder: run.json, metrics.jsonl, and validation images
 * segmented by the run's model. A run without a model yet, or whose data folder has gone, still
 * gets a report, with a note in place of the images. Throws when run.json is missing or its spec
 * no longer compiles.
 */
export async function buildRunReport(runDir: string, options: BuildReportOptions = {}): Promise<string> {
  const manifest = readRunManifest(runDir);
  const graph = recordedGraph(manifest);
  if (typeof graph === 'string') throw new CheckpointError(join(runDir, 'run.json'), graph);
  let samples: ReportSample[] = [];
  let samplesNote: string | undefined;
  const model = options.model ?? runDir;
  try {
    if (
      options.model === undefined &&
      !existsSync(join(runDir, 'model.onnx')) &&
      !existsSync(join(runDir, 'best', 'unetc.json'))
    ) {
      throw new Error('no model yet (the run folder has neither model.onnx nor a best/ checkpoint)');
    }
    if (graph.dims === 3) {
      if (!options.volumes) throw new Error('3D runs show their validation volumes when unetc train writes the report');
      samples = await predictVolumeSamples(model, options.volumes);
    } else {
      const examples = options.examples ?? (await validationExamples(manifest, graph, REPORT_SAMPLES));
      samples = await predictSamples(model, examples);
    }
  } catch (error) {
    samplesNote = `no validation images: ${messageOf(error)}`;
  }
  return writeRunReport({
    runDir,
    graph,
    specText: manifest.spec.text,
    manifest,
    metrics: readMetrics(runDir),
    samples,
    ...(samplesNote !== undefined ? { samplesNote } : {}),
    ...(options.generated ? { generated: options.generated } : {}),
  });
}
