/** The report's inline stylesheet: system fonts, a light theme, a grid that fits a 1400 px window. */
export const REPORT_CSS = `
:root { --ink: #1d2433; --muted: #5b6578; --line: #dde3ec; --panel: #ffffff; --bg: #f3f5f9; --accent: #2457c5; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header { background: linear-gradient(90deg, #1b2a4a, #2457c5); color: #fff; padding: 22px 36px 18px; }
header h1 { margin: 0; font-size: 26px; font-weight: 650; letter-spacing: .2px; }
header h1 .kind { font-weight: 400; opacity: .75; font-size: 18px; margin-left: 10px; }
header p { margin: 6px 0 0; opacity: .88; }
header code { color: #fff; background: rgba(255,255,255,.14); padding: 1px 6px; border-radius: 4px; }
main { max-width: 1360px; margin: 0 auto; padding: 20px 20px 32px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px 18px; margin: 0 0 18px; }
h2 { font-size: 17px; margin: 0 0 12px; font-weight: 650; }
h2 small { font-weight: 400; color: var(--muted); font-size: 13px; margin-left: 8px; }
.cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 14px; background: none; border: 0; padding: 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.card .value { font-size: 26px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
.card .value.small { font-size: 16px; margin-top: 8px; overflow-wrap: anywhere; }
.card .sub { color: var(--muted); font-size: 12.5px; }
.card.highlight { border-color: #9bb6ec; background: #f4f8ff; }
.card.highlight .value { color: var(--accent); }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; align-items: start; }
.two > section { margin: 0 0 18px; min-width: 0; }
table.kv { border-collapse: collapse; width: 100%; }
table.kv th, table.kv td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #eef1f6; }
table.kv th { color: var(--muted); font-weight: 500; white-space: nowrap; width: 1%; }
table.kv td { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .chart-title { font-size: 15px; font-weight: 650; fill: #1d2433; }
svg.chart .tick { font-size: 12px; fill: #5b6578; }
svg.chart .axis-label { font-size: 13px; fill: #36405a; }
svg.chart .legend { font-size: 12.5px; fill: #36405a; }
svg.chart .grid { stroke: #e9edf3; stroke-width: 1; }
svg.chart .axis { stroke: #5b6578; stroke-width: 1.2; }
svg.chart .marker { stroke: #8a94a8; stroke-width: 1.2; stroke-dasharray: 4 3; }
svg.chart .marker-label { font-size: 12.5px; fill: #36405a; font-weight: 600; }
svg.chart .chart-empty { font-size: 14px; fill: #8a94a8; }
.legend-row { display: flex; gap: 22px; color: var(--muted); margin: -4px 0 12px; flex-wrap: wrap; }
.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; vertical-align: -2px; margin-right: 6px; }
.samples { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
figure.sample { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px; background: #fafbfd; }
figure.sample .panels { display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px; }
figure.sample img { width: 100%; height: auto; display: block; image-rendering: pixelated; border-radius: 4px; background: #000; }
figure.sample .cap { font-size: 11.5px; color: var(--muted); text-align: center; margin-top: 2px; }
figure.sample figcaption { display: flex; justify-content: space-between; margin-bottom: 6px; font-size: 13px; }
figure.sample figcaption .dice { font-weight: 650; font-variant-numeric: tabular-nums; }
.dice.good { color: #1c7c43; } .dice.fair { color: #a66a00; } .dice.poor { color: #b3261e; }
.diagram { overflow-x: auto; text-align: center; }
.diagram svg { max-width: 100%; height: auto; }
pre { margin: 0; background: #0f1729; color: #e3e8f2; border-radius: 8px; padding: 12px 14px; font: 12.5px/1.5 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
.note { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 4px 0 24px; }
`;
