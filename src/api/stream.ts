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
 * Docker's RFC 3339 nanosecond UTC timestamp. One write per batch, not per line. With `merge`,
 * consecutive lines of one stream share a frame: the stream means the same to a client that
 * only copies payloads out, and it reads and writes once per frame.
 */
export function logPayload(batch: LogLine[], o: { tty: boolean; timestamps: boolean; merge?: boolean }): Buffer {
  let stamps: Buffer[] | undefined;
  if (o.timestamps) {
    // conmon stamps each read of the container's output once, so neighbouring lines share a time.
    let time = '';
    let stamp = Buffer.alloc(0);
    stamps = batch.map((e) => {
      if (e.time !== time) {
        time = e.time;
        stamp = Buffer.from(dockerLogTime(e) + ' ', 'latin1');
      }
      return stamp;
    });
  }
  let size = 0;
  for (let i = 0; i < batch.length; i++) size += (o.tty ? 0 : 8) + (stamps ? stamps[i].length : 0) + batch[i].line.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  let header = -1;
  for (let i = 0; i < batch.length; i++) {
    const e = batch[i];
    const len = (stamps ? stamps[i].length : 0) + e.line.length;
    if (!o.tty) {
      const id = e.stream === 'stdout' ? STREAM_STDOUT : STREAM_STDERR;
      if (o.merge && header >= 0 && out[header] === id) {
        out.writeUInt32BE(out.readUInt32BE(header + 4) + len, header + 4);
      } else {
        header = at;
        out[at] = id;
        out[at + 1] = out[at + 2] = out[at + 3] = 0;
        out.writeUInt32BE(len, at + 4);
        at += 8;
      }
    }
    if (stamps) at += stamps[i].copy(out, at);
    at += e.line.copy(out, at);
  }
  return at === size ? out : out.subarray(0, at);
}

/**
 * Whether a client only concatenates the payloads of a log stream, so that lines may share
 * frames (`logPayload`'s `merge`). The docker CLI and wharf's do. Docker itself sends a frame per
 * line, and SDK users iterate over frames as lines (docker-py's `logs(stream=True)`), so every
 * other client gets that.
 */
export function concatenatesFrames(userAgent: string | undefined): boolean {
  return !!userAgent && (userAgent.startsWith('Docker-Client/') || userAgent.startsWith('wharf-cli'));
}
