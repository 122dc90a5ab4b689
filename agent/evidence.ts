/**
 * Off-device evidence tools, neutral like the core: verifying an exported audit trail, rendering the privacy label
 * and the self-assessment for people. The companion and QA use them; a device does not need them.
 */
export { verifyTrail, privacyLabelText, privacyLabelHtml, complianceToMarkdown, complianceToJson } from './audit/index.js';
export type { VerifyResult, ComplianceReport } from './audit/index.js';
export { manifestSummary, manifestToJson, manifestHash } from './policy/index.js';
