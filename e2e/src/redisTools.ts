import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program (redis-cli, redis-benchmark) to completion, with optional standard input. */
export function runTool(
  program: string,
  args: readonly string[],
  { input, timeoutMs = 60_000 }: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('latin1').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${program} ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** redis-cli against a port: `redisCli(port, ['set', 'k', 'v'])`. */
export function redisCli(
  port: number,
  args: readonly string[],
  options: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<ToolResult> {
  return runTool('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], options);
}
