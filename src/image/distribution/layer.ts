import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { gunzip, gzipParallel, peek } from '../../util/index.js';

/**
 * gzip level of pushed layers. Measured on a 100 MB tar of /usr (2 cores, node:zlib), level 1
 * won: the network, not the ratio, is what users wait on.
 */
export const PUSH_GZIP_LEVEL = 1;

/** zstd in Debian's binary (Node 20's zlib has none). */
export const ZSTD_BIN = 'zstd';

type Codec = 'gzip' | 'zstd' | 'none';

/** What the first bytes say: gzip (1f 8b), zstd (28 b5 2f fd), else a plain tar. */
export function sniffCodec(head: Buffer): Codec {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

function zstdDecoder(label: string): { stream: PassThrough; input: NodeJS.WritableStream; kill: () => void } {
  const child = spawn(ZSTD_BIN, ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough();
  const errs: Buffer[] = [];
  let failed = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    out.destroy(err);
  };
  child.stderr.on('data', (b: Buffer) => errs.push(b));
  child.on('error', (err) => fail(new Error(`${label}: cannot run ${ZSTD_BIN}: ${err.message}`)));
  child.stdin.on('error', () => {});
  child.stdout.pipe(out, { end: false });
  child.on('close', (code, signal) => {
    if (code === 0) out.end();
    else fail(new Error(`${label}: zstd: ${Buffer.concat(errs).toString('utf8').trim() || (signal ? `killed by ${signal}` : `exit status ${code}`)}`));
  });
  out.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { stream: out, input: child.stdin, kill: () => child.kill('SIGKILL') };
}

/**
 * The uncompressed tar of a layer blob, by its media type (gzip, zstd, none; `+gzip`/`+zstd`
 * suffixes and Docker's names), checked against the stream's magic bytes so a mislabeled layer
 * still unpacks. zstd runs Debian's `zstd -dc` (Node 20's zlib has none). Errors of the
 * decompressor surface as stream errors with the layer named.
 */
export function decompressLayer(input: Readable, mediaType: string): Readable {
  const out = new PassThrough();
  const label = `layer (${mediaType})`;
  let settled = false;
  out.on('close', () => {
    settled = true;
    if (!input.destroyed) input.destroy();
  });
  peek(input, 4).then(
    ({ head, stream }) => {
      if (settled) {
        stream.destroy();
        return;
      }
      // The bytes decide; the type only names what was expected.
      // An empty blob is an empty layer whatever its type says.
      const codec = sniffCodec(head);
      if (codec === 'none') {
        stream.on('error', (err) => out.destroy(err));
        stream.pipe(out);
        out.on('close', () => stream.destroy());
        return;
      }
      if (codec === 'gzip') {
        const inflate = gunzip();
        inflate.on('error', (err) => out.destroy(new Error(`${label}: gzip: ${err.message}`)));
        stream.on('error', (err) => out.destroy(err));
        stream.pipe(inflate).pipe(out);
        out.on('close', () => {
          inflate.destroy();
          stream.destroy();
        });
        return;
      }
      const z = zstdDecoder(label);
      z.stream.pipe(out);
      z.stream.on('error', (err) => out.destroy(err));
      stream.on('error', (err) => {
        z.kill();
        out.destroy(err);
      });
      stream.pipe(z.input as NodeJS.WritableStream);
      out.on('close', () => z.stream.destroy());
    },
    (err: Error) => out.destroy(err),
  );
  return out;
}

/** A gzip stream of a layer tar for push (fast level: the network, not the ratio, is what users wait on), on all cores. */
export function compressLayer(input: Readable): Readable {
  return gzipParallel(input, PUSH_GZIP_LEVEL);
}
