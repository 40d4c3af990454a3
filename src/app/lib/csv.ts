// The one CSV writer lives with the inspection policy (TF-free), shared with the history's exports.
export { toCsv } from '../../core/inspection/csv';
