/**
 * Evaluation: a model's masks against a data set's (Dice, IoU, pixel accuracy per image, their
 * means, and pooled over all pixels) and its instances against `labels/` (F1 at IoU 0.5).
 */
export { addCounts, instanceScores, matchInstances, type InstanceCounts, type InstanceScores } from './match.js';
export { evaluateDataset, type EvalOptions, type EvalReport, type ImageEval, type SummaryScores } from './evaluate.js';
export { csvField, evalCsv } from './csv.js';
