// How a planned stop goes, in the deployment log's words: which signal, and when SIGKILL follows.
// Pure.

/** Docker's grace period when neither the container nor the request sets one. */
export const DOCKER_STOP_GRACE_SECONDS = 10;

/** `SIGQUIT, then SIGKILL after 30 s`; without a signal of the container's own, the image's. */
export function describeStop(stop: { timeoutSeconds?: number; signal?: string }): string {
  return `${stop.signal ?? "the image's stop signal (SIGTERM unless it sets one)"}, then SIGKILL after ${stop.timeoutSeconds ?? DOCKER_STOP_GRACE_SECONDS} s`;
}
