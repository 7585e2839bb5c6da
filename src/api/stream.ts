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
