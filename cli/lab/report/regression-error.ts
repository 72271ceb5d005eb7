/** The regression outcome of `quicmesh-lab test --baseline`, kept apart so the CLI's root maps it to exit 3 without loading the comparison. */
import { QuicmeshError } from '../../../src/errors.js';

/** Every expectation held, but some cell got significantly worse than in the baseline. */
export const EXIT_REGRESSION = 3;

export class RegressionError extends QuicmeshError {}
