export { buildReport, deliveredByCategory, DELAY_BUCKETS, type MarkerKind, type SimulationReport } from './model.js';
export { renderSummaryTable } from './table.js';
export { RUNTIME_BEGIN, RUNTIME_END, renderJunitXml, reportToJson, withoutRuntime, writeJsonReport, writeJunitXml } from './files.js';
export { renderHtmlReport, writeHtmlReport } from './html.js';
