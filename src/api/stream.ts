import { dockerLogTime, type LogLine } from '../daemon/index.js';

/**
 * Docker's stream multiplexing for attach, exec and logs without a TTY: an 8-byte header
 * (stream id, 3 zero bytes, big-endian payload length) before each payload.
 */
export const STREAM_STDIN = 0;
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;

export function frame(stream: 'stdout' | 'stderr' | number, payload: Buffer): Buffer {
  const id = stream === 'stdout' ? STREAM_STDOUT : stream === 'stderr' ? STREAM_STDERR : stream;
  const header = Buffer.alloc(8);
  header[0] = id;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/**
 * A batch of log lines as one buffer: each line framed (without a TTY) and, when asked, behind
 * Docker's RFC 3339 nanosecond UTC timestamp. One write per batch, not per line.
 */
export function logPayload(batch: LogLine[], o: { tty: boolean; timestamps: boolean }): Buffer {
  const stamps = o.timestamps ? batch.map((e) => Buffer.from(dockerLogTime(e) + ' ', 'latin1')) : undefined;
  let size = 0;
  for (let i = 0; i < batch.length; i++) size += (o.tty ? 0 : 8) + (stamps ? stamps[i].length : 0) + batch[i].line.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < batch.length; i++) {
    const e = batch[i];
    const len = (stamps ? stamps[i].length : 0) + e.line.length;
    if (!o.tty) {
      out[at] = e.stream === 'stdout' ? STREAM_STDOUT : STREAM_STDERR;
      out[at + 1] = out[at + 2] = out[at + 3] = 0;
      out.writeUInt32BE(len, at + 4);
      at += 8;
    }
    if (stamps) at += stamps[i].copy(out, at);
    at += e.line.copy(out, at);
  }
  return out;
}
