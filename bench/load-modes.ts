/** How a closed-loop client of the throughput benchmark submits a job and waits for its end. */
export const CLOSED_LOOP_MODES = ['poll', 'prefer', 'batch'] as const;
export type ClosedLoopMode = (typeof CLOSED_LOOP_MODES)[number];

