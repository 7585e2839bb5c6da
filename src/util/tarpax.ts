import { extract, type Extract, type Header, type Pack } from 'tar-stream';

/**
 * PAX records with byte values. GNU tar and Go's archive/tar (so Docker) write an extended
 * attribute as `SCHILY.xattr.<name>=<raw bytes>`, and a file capability is binary (cap_setuid
 * alone is 0x80 in its mask): tar-stream reads and writes every PAX value as UTF-8 text, which
 * turns such a value into U+FFFD on the way in and cannot write it on the way out. What is here
 * carries those values as bytes, in both directions, and leaves the rest of the format to tar-stream.
 */

export const PAX_XATTR = 'SCHILY.xattr.';

/** Extended attributes by name (`security.capability`), as bytes. */
export type Xattrs = Record<string, Buffer>;

/**
 * The records of a PAX header's body (`<len> <key>=<value>\n` each), values as bytes. As lenient
 * as tar-stream, so that what the layer split reads of a header is what the extraction did:
 * parsing stops at a record without a length or an `=`.
 */
export function paxRecords(body: Buffer): [key: string, value: Buffer][] {
  const out: [string, Buffer][] = [];
  let rest = body;
  while (rest.length) {
    let space = rest.indexOf(0x20);
    if (space === -1) space = rest.length;
    const len = parseInt(rest.toString('latin1', 0, space), 10);
    if (!len) break;
    const record = rest.subarray(space + 1, len - 1);
    const eq = record.indexOf(0x3d);
    if (eq === -1) break;
    out.push([record.toString('utf8', 0, eq), record.subarray(eq + 1)]);
    rest = rest.subarray(len);
  }
  return out;
}

/** The `SCHILY.xattr.*` records of a PAX header's body, or undefined when it has none. */
function xattrsOfPax(body: Buffer): Xattrs | undefined {
  let out: Xattrs | undefined;
  for (const [key, value] of paxRecords(body)) {
    if (key.startsWith(PAX_XATTR) && key.length > PAX_XATTR.length) (out ??= {})[key.slice(PAX_XATTR.length)] = Buffer.from(value);
  }
  return out;
}

/** One record, its length counting its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3;
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

/** What tar-stream's extract does with a long header's body; not part of its typed surface. */
interface ExtractInternals {
  _header: Header | null;
  _decodeLongHeader(buf: Buffer): void;
}

/**
 * tar-stream's extract, whose entries carry their extended attributes as bytes in `xattrs`
 * (the header's `pax` keeps tar-stream's text, where a binary value is mangled). Only an entry's
 * own PAX header gives it attributes: Docker (Go's archive/tar) applies none from a global one.
 */
export function xattrExtract(): Extract {
  const ex = extract();
  const inner = ex as unknown as ExtractInternals;
  const decode = inner._decodeLongHeader;
  if (typeof decode !== 'function') throw new Error('tar-stream changed: its extract has no _decodeLongHeader to read PAX values as bytes from');
  let next: Xattrs | undefined;
  inner._decodeLongHeader = function (this: ExtractInternals, buf: Buffer) {
    decode.call(this, buf);
    if ((this._header?.type as string | undefined) === 'pax-header') next = xattrsOfPax(buf);
  };
  // Registered first, so every listener the caller adds sees `xattrs` already set.
  ex.on('entry', (h: Header & { xattrs?: Xattrs }) => {
    if (next) h.xattrs = next;
    next = undefined;
  });
  return ex;
}

type EntryHeader = Parameters<Pack['entry']>[0] & { xattrs?: Xattrs; pax?: Record<string, string> | null };

/**
 * Writes the PAX header that carries `h`'s extended attributes (as bytes, with its path, link
 * target and other records) straight to `p`, and returns the header to give `p.entry` next:
 * `h` renamed to fit a plain ustar header, so that tar-stream adds no PAX header of its own
 * after ours (readers keep only the last). Without attributes, `h` as it is. Only between
 * entries: the bytes go out where `p` is.
 */
export function pushXattrHeader<H extends EntryHeader>(p: Pack, h: H): Omit<H, 'xattrs'> {
  const { xattrs, ...plain } = h;
  if (!xattrs || Object.keys(xattrs).length === 0) return plain;
  const { pax, ...bare } = plain;
  const records: Buffer[] = [paxRecord('path', Buffer.from(h.name))];
  if (h.linkname) records.push(paxRecord('linkpath', Buffer.from(h.linkname)));
  for (const [key, value] of Object.entries(pax ?? {})) if (key !== 'path' && key !== 'linkpath') records.push(paxRecord(key, Buffer.from(String(value))));
  for (const name of Object.keys(xattrs).sort()) records.push(paxRecord(PAX_XATTR + name, xattrs[name]));
  const body = Buffer.concat(records);
  p.push(ustarHeader(ustarName(`PaxHeaders/${h.name}`), PAX_TYPEFLAG, body.length, h.mtime ?? new Date()));
  p.push(body);
  if (body.length % 512) p.push(Buffer.alloc(512 - (body.length % 512)));
  return { ...bare, name: ustarName(h.name), ...(h.linkname ? { linkname: ustarName(h.linkname) } : {}) } as Omit<H, 'xattrs'>;
}

const PAX_TYPEFLAG = 'x';

/** A name that fits a plain ustar header (ASCII, 99 bytes), for readers that ignore PAX; the PAX path is the real one. */
function ustarName(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length <= 99 ? ascii : ascii.slice(-99);
}

/** The ustar header block of a PAX header: mode 0644, root's. */
function ustarHeader(name: string, typeflag: string, size: number, mtime: Date): Buffer {
  const b = Buffer.alloc(512);
  const octal = (at: number, width: number, n: number) => b.write(n.toString(8).padStart(width - 1, '0') + '\0', at, width, 'latin1');
  b.write(name, 0, 100, 'latin1');
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, Math.floor(mtime.getTime() / 1000));
  b.write(typeflag, 156, 1, 'latin1');
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  b.write(ustarChecksum(b).toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/** A header block's checksum: the sum of its bytes, the checksum field counted as spaces. */
export function ustarChecksum(b: Buffer): number {
  let sum = 8 * 32;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += b[i];
  return sum;
}
