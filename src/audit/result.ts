// The audit's result types live with their renderers (see there why); the engine reads them from here.
export * from '../render/audit-report.js';
