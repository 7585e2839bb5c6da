import { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { seqpacketConnect } from '../util/index.js';
import type { AttachSession } from './types.js';

// conmon tags each packet on the attach socket with the pipe it came from.
const STDOUT_PIPE = 2;
const STDERR_PIPE = 3;

/**
 * Connects to conmon's attach socket. Output packets arrive framed by the native relay
 * (4-byte big-endian length, then conmon's packet: a pipe byte and the data).
 */
export function attachSocket(path: string, opts: { stdin: boolean }): AttachSession {
  const sock = new Socket({ fd: seqpacketConnect(path), readable: true, writable: true });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let buf: Buffer = Buffer.alloc(0);
  let closed = false;
  sock.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (buf.length < 4 + len) break;
      const pipe = buf[4];
      const data = buf.subarray(5, 4 + len);
      buf = buf.subarray(4 + len);
      if (data.length === 0) continue;
      if (pipe === STDERR_PIPE) stderr.write(data);
      else if (pipe === STDOUT_PIPE) stdout.write(data);
    }
  });
  const end = () => {
    stdout.end();
    stderr.end();
  };
  sock.once('end', end);
  sock.once('close', end);
  sock.on('error', end);
  const session: AttachSession = {
    stdout,
    stderr,
    close() {
      if (closed) return;
      closed = true;
      sock.destroy();
      end();
    },
  };
  // Without stdin we never half-close: to conmon that would mean "close the container's stdin".
  if (opts.stdin) session.stdin = sock;
  return session;
}
