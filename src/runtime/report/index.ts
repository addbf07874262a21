/**
 * The run report: report.html in a run folder, a static self-contained page with the training
 * curves, validation images with true and predicted masks, the spec, its diagram and run.json.
 */
export { buildRunReport, writeRunReport, REPORT_FILE, type BuildReportOptions, type RunReportInput } from './build.js';
export { renderRunReport, diagramSvg, prettyJson, type ReportPage } from './render.js';
export { lineChart, niceAxis, niceStep, type ChartOptions, type Series } from './chart.js';
export { escapeHtml, externalReferences } from './html.js';
export { bestEpoch, parseMetrics, readMetrics, type EpochMetrics } from './metrics.js';
export { imageDice, samplePanels, type ReportSample, type SamplePanels } from './overlay.js';
export { predictExamples, predictSamples, validationExamples, REPORT_SAMPLES } from './samples.js';
