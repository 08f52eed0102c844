import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { OperationFrame, OpType } from '@meshcache/proto';

const protoDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('generated code', () => {
  it('matches what regenerating from the .proto files gives', () => {
    const out = execFileSync('node', [join(protoDir, 'scripts', 'generate.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(out).toContain('generated code matches');
  });

  it('round-trips an operation frame', () => {
    const frame = OperationFrame.fromPartial({
      ops: [
        { id: 7, type: OpType.SET, cache: 'c', key: Buffer.from('k'), value: Buffer.from('v'), ttlMs: 1500 },
      ],
    });
    const decoded = OperationFrame.decode(OperationFrame.encode(frame).finish());
    expect(decoded.ops[0]?.id).toBe(7);
    expect(decoded.ops[0]?.type).toBe(OpType.SET);
    expect(decoded.ops[0]?.ttlMs).toBe(1500);
    expect(Buffer.from(decoded.ops[0]!.value).toString()).toBe('v');
  });
});
