// The only module given to the worker's workflow bundle.
export { jobWorkflow, type JobWorkflowInput } from './job-workflow.js'
export { runWorkflow, type RunWorkflowInput, type RunSummary } from './run-workflow.js'
export { runGroupWorkflow, type RunGroupWorkflowInput } from './run-group.js'
