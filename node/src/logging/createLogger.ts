import { pino, type Logger } from 'pino';

/** JSON lines on stdout; `node ready` carries the bound ports for supervisors and tests. */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({ level, base: { node: nodeId }, timestamp: pino.stdTimeFunctions.isoTime });
}
