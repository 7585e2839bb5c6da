/**
 * Compressed streams told apart by their first bytes, as moby's archive.DecompressStream does:
 * gzip through zlib, bzip2 and xz through Debian's own tools (streamed, never buffered whole).
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { gunzip } from '../util/index.js';

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'none';

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return 'none';
}

/** A tar header's `ustar` magic at offset 257 (POSIX and GNU tars both have it). */
export function looksLikeTar(head: Buffer): boolean {
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

/** `src` decompressed; a failing decompressor destroys the result with its stderr as the error. */
export function decompress(src: Readable, kind: Compression): Readable {
  if (kind === 'none') return src;
  if (kind === 'gzip') {
    const inflate = gunzip();
    src.on('error', (err) => inflate.destroy(err));
    return src.pipe(inflate);
  }
  const tool = kind === 'bzip2' ? 'bzip2' : 'xz';
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 2048) stderr += s;
  });
  const out = child.stdout;
  child.stdin.on('error', () => {});
  src.on('error', (err) => {
    child.kill('SIGKILL');
    out.destroy(err);
  });
  src.pipe(child.stdin);
  child.once('error', (err) => out.destroy(new Error(`${tool}: ${err.message}`)));
  child.once('exit', (code, signal) => {
    if (code !== 0 && !out.destroyed) out.destroy(new Error(`${tool} -dc failed (${signal ?? `exit ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`));
  });
  // A consumer that stops early (an error, an abort) must not leave the tool running.
  out.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return out;
}
