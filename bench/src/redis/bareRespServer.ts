/**
 * The bare-minimum RESP server bench:redis compares against: a Map, GET and
 * SET, one socket write per read, nothing else (no limits, no TTLs, no
 * metrics, no inline commands). It shows what Node's networking costs before
 * any cache work. Prints its port on stdout. Usage: bareRespServer.js [port]
 */
import { createServer } from 'node:net';

const map = new Map<string, string>();

const server = createServer({ noDelay: true }, (socket) => {
  let pending: Buffer | undefined;
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    let pos = 0;
    let out = '';
    parse: while (pos < buf.length) {
      const start = pos;
      let cr = buf.indexOf(13, pos);
      if (cr < 0) break;
      const argc = Number(buf.toString('latin1', pos + 1, cr));
      pos = cr + 2;
      const args: string[] = [];
      for (let i = 0; i < argc; i++) {
        cr = buf.indexOf(13, pos);
        const len = cr < 0 ? 0 : Number(buf.toString('latin1', pos + 1, cr));
        if (cr < 0 || cr + 2 + len + 2 > buf.length) {
          pos = start; // incomplete: wait for more
          break parse;
        }
        args.push(buf.toString('latin1', cr + 2, cr + 2 + len));
        pos = cr + 2 + len + 2;
      }
      const name = (args[0] ?? '').toUpperCase();
      if (name === 'GET') {
        const v = map.get(args[1]!);
        out += v === undefined ? '$-1\r\n' : `$${v.length}\r\n${v}\r\n`;
      } else if (name === 'SET') {
        map.set(args[1]!, args[2]!);
        out += '+OK\r\n';
      } else {
        out += '-ERR unknown command\r\n';
      }
    }
    pending = pos < buf.length ? buf.subarray(pos) : undefined;
    if (out.length > 0) socket.write(out, 'latin1');
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
