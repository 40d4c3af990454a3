/** The covariance shrinkage of a whitened flow's input (flow/whitening.ts), measured on MTD in BENCHMARKS.md. */
export const DEFAULT_WHITENING_SHRINKAGE = 0.01;
