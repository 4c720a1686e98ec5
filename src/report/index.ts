// Public face of the HTML report (`ctsim/report`): one self-contained file an engineer can attach
// to a ticket (ladder, every packet's verdict, its explain story and bytes, the outcome).
export { renderReport } from './html-report.js';
export type { ReportFact, ReportInput, ReportPacket, ReportProfile, ReportTable, ReportVerdict } from './report-types.js';
export { REPORT_MAX_PACKETS, ReplayReportBuilder, replayReport, reportPacket } from './from-replay.js';
export { runReport, scenarioFacts, seedReport } from './from-scenario.js';
export { reportProfile } from './profile-status.js';
export { escapeHtml } from './html-report.js';
export { kernelDiffReport } from './from-kernel-diff.js';
