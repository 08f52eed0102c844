import { pino, type Logger } from 'pino';

/**
 * JSON lines on stdout; `node ready` carries the bound ports for supervisors
 * and tests.
 *
 * Written through process.stdout rather than pino's default file-descriptor
 * writer: when whatever reads our stdout goes away, that writer retried the
 * failed write (EPIPE) forever, blocking the event loop, so the node stopped
 * serving and ignored SIGTERM. Here a broken pipe only stops the logging.
 */
export function createLogger(level: string, nodeId: string): Logger {
  const out = process.stdout;
  let broken = false;
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    broken = true;
  });
  const destination = { write: (line: string) => broken || out.write(line) };
  return pino({ level, base: { node: nodeId }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
