export { buildReport, DELAY_BUCKETS, type MarkerKind, type SimulationReport } from './model.js';
export { renderSummaryTable } from './table.js';
export { renderJunitXml, reportToJson, writeJsonReport, writeJunitXml } from './files.js';
export { renderHtmlReport, writeHtmlReport } from './html.js';
