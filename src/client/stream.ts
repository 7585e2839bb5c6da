import type { Readable } from 'node:stream';

/**
 * Splits Docker's multiplexed stream (8-byte header: stream 0/1/2, three zero bytes, big-endian
 * length) into stdout and stderr writes.
 */
export function demux(input: Readable, out: { stdout(b: Buffer): void; stderr(b: Buffer): void }): Promise<void> {
  let buf: Buffer = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    input.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 8) {
        const len = buf.readUInt32BE(4);
        if (buf.length < 8 + len) break;
        const payload = buf.subarray(8, 8 + len);
        if (buf[0] === 2) out.stderr(payload);
        else out.stdout(payload);
        buf = buf.subarray(8 + len);
      }
    });
    input.once('end', () => resolve());
    input.once('close', () => resolve());
    input.once('error', reject);
  });
}

/** Reads a JSON-lines progress stream; returns the error message of the first error line, if any. */
export async function readProgress(input: Readable, onLine: (m: { status?: string; stream?: string; error?: string; id?: string }) => void): Promise<string | undefined> {
  let rest = '';
  let error: string | undefined;
  for await (const c of input) {
    rest += (c as Buffer).toString('utf8');
    let nl;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (!line) continue;
      const m = JSON.parse(line) as { status?: string; stream?: string; error?: string };
      if (m.error) error ??= m.error;
      else onLine(m);
    }
  }
  return error;
}
