import type { Context, Hijacked } from '../context.js';
import type { AttachIO } from '../../daemon/index.js';
import { frame, MULTIPLEXED_STREAM, RAW_STREAM } from '../stream.js';

/**
 * Hijack the connection and adapt it to the daemon's AttachIO: frames output unless the
 * process has a TTY, hands stdin through, and reports when the client disconnects.
 */
export function hijackForAttach(ctx: Context, tty: boolean, withStdin: boolean): { io: AttachIO; conn: Hijacked } {
  // API < 1.42 clients expect raw-stream as the content type even when frames are multiplexed.
  const contentType = tty || ctx.version < 1.42 ? RAW_STREAM : MULTIPLEXED_STREAM;
  const conn = ctx.hijack(contentType);
  const io: AttachIO = {
    write: (stream, data) => conn.write(tty ? data : frame(stream, data)),
    stdin: withStdin ? conn.input : undefined,
    clientGone: conn.gone,
  };
  if (!withStdin) conn.input.resume();
  return { io, conn };
}
