/**
 * Decides how long a connection waits before its next reconnect attempt.
 * Swap in your own through `ClientOptions.reconnect`. Implementations must be
 * stateless (one instance may serve many connections): the attempt number is
 * passed in.
 */
export interface ReconnectPolicy {
  /**
   * Delay before reconnect attempt `attempt` (1 for the first attempt after a
   * failure, counting up until a connection succeeds), or `undefined` to give
   * up: the connection then fails its queued operations and stays down.
   */
  delayMs(attempt: number): number | undefined;
}
