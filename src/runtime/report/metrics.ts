/** Reading a run's metrics.jsonl: one line per finished epoch (see the training loop). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRICS_FILE } from '../train/loop.js';

/** One epoch's line of metrics.jsonl. */
export interface EpochMetrics {
  readonly epoch: number;
  readonly step: number;
  /** Mean training loss over the epoch's steps. */
  readonly loss: number;
  readonly lr: number;
  readonly val_dice: number;
  readonly val_iou: number;
  readonly val_pixel_accuracy: number;
  /** Whether this epoch set a new best validation Dice (and wrote best/). */
  readonly best: boolean;
}

/** Parses metrics.jsonl text; lines that are blank, torn (a crash mid-write) or not epochs are skipped. */
export function parseMetrics(text: string): EpochMetrics[] {
  const out: EpochMetrics[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const m = JSON.parse(line) as Partial<EpochMetrics>;
      if (typeof m.epoch === 'number' && typeof m.loss === 'number') out.push(m as EpochMetrics);
    } catch {
      // A torn last line: the epochs before it still count.
    }
  }
  return out;
}

/** The metrics of a run folder ([] when it has none yet). */
export function readMetrics(runDir: string): EpochMetrics[] {
  const file = join(runDir, METRICS_FILE);
  return existsSync(file) ? parseMetrics(readFileSync(file, 'utf8')) : [];
}

/** The best epoch: the last one flagged `best`, else the highest validation Dice. */
export function bestEpoch(metrics: readonly EpochMetrics[]): EpochMetrics | undefined {
  const flagged = metrics.filter((m) => m.best);
  if (flagged.length > 0) return flagged[flagged.length - 1];
  return metrics.reduce<EpochMetrics | undefined>(
    (b, m) => (b === undefined || m.val_dice > b.val_dice ? m : b),
    undefined,
  );
}
