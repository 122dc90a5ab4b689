/** Audit trail, verifier, self-assessment and privacy label: evidence of what the agent did (R12, R14, R8). */
export { AUDIT_EVENT_TYPES, assertAuditDetails, isAuditEventType, MAX_DETAILS } from './events.js';
export type { AuditDetails, AuditDetailValue, AuditEventType } from './events.js';
export { ownerAuditEvent } from './owner-events.js';
export { hashEntry, TRAIL_FORMAT, TRAIL_VERSION } from './format.js';
export type { AuditCheckpoint, AuditEntry, TrailBase } from './format.js';
export { AUDIT_FILE, createAuditTrail, DEFAULT_CHECKPOINT_EVERY, DEFAULT_MAX_ENTRIES, MIN_KEPT_BY_AGE } from './trail.js';
export type { AuditHead, AuditTrail, AuditTrailOptions } from './trail.js';
export { verifyTrail } from './verify.js';
export type { BreakKind, TrailBreak, VerifyOptions, VerifyResult } from './verify.js';
export { assessCompliance, securityState } from './assess.js';
export type {
  AssessmentAudit, AssessmentCategory, AssessmentInput, AssessmentPolicy, AssessmentStore, ComplianceReport,
  ComplianceRow, ComplianceStatus, SecurityState,
} from './assess-types.js';
export { assessmentCategories, complianceToJson, complianceToMarkdown, summarizeTrail } from './report.js';
export type { SummarizeOptions } from './report.js';
export { privacyLabelHtml } from './label-html.js';
export { privacyLabelText } from './label-text.js';
export { buildLabelModel, humanDuration } from './label-model.js';
export type { LabelModel } from './label-model.js';
