/** Architecture diagrams as SVG: the U view of template networks and a layered view of any graph. */
export { renderUnetSvg, isUnetGraph, vizSize, vizSizes, type VizSize } from './unet.js';
export { renderGraphSvg, opText } from './graph.js';
export { escapeXml, SVG_MARK } from './svg.js';
