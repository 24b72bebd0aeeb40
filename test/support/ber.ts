/**
 * Turns DER into the BER that Apple's SCEP client sends: every constructed value in the indefinite
 * length form, and OCTET STRINGs longer than `chunk` as constructed OCTET STRINGs of chunks. With
 * `longLengths`, definite lengths get a redundant leading zero octet (non-minimal, also BER).
 * Contents of primitive values (an OCTET STRING's encapsulated DER among them) are not touched,
 * so signatures and digests over them still hold. Independent of src/pki on purpose.
 */
export interface BerOptions {
  chunk?: number;
  longLengths?: boolean;
}

interface Node {
  tag: number;
  value: Buffer;
}

function read(buf: Buffer, offset: number): { node: Node; end: number } {
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new Error('toBer expects definite lengths');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    pos += n;
  }
  if (pos + len > buf.length) throw new Error('toBer: truncated input');
  return { node: { tag, value: buf.subarray(pos, pos + len) }, end: pos + len };
}

function children(value: Buffer): Node[] {
  const out: Node[] = [];
  for (let off = 0; off < value.length;) {
    const { node, end } = read(value, off);
    out.push(node);
    off = end;
  }
  return out;
}

function definite(tag: number, contents: Buffer, o: BerOptions): Buffer {
  const n = contents.length;
  let len: number[];
  if (o.longLengths) {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = [0x80 | (bytes.length + 1), 0, ...bytes];
  } else if (n < 0x80) len = [n];
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = [0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from([tag, ...len]), contents]);
}

function convert(node: Node, o: BerOptions): Buffer {
  const chunk = o.chunk ?? 64;
  if (node.tag & 0x20) {
    const inner = children(node.value).map((c) => convert(c, o));
    return Buffer.concat([Buffer.from([node.tag, 0x80]), ...inner, Buffer.from([0, 0])]);
  }
  if (node.tag === 0x04 && node.value.length > chunk) {
    const parts: Buffer[] = [];
    for (let off = 0; off < node.value.length; off += chunk) parts.push(definite(0x04, node.value.subarray(off, off + chunk), o));
    return Buffer.concat([Buffer.from([0x24, 0x80]), ...parts, Buffer.from([0, 0])]);
  }
  return definite(node.tag, node.value, o);
}

/** BER re-encoding of one DER value (see the file comment). */
export function toBer(der: Uint8Array, o: BerOptions = {}): Buffer {
  const buf = Buffer.from(der);
  const { node, end } = read(buf, 0);
  if (end !== buf.length) throw new Error('toBer: trailing bytes');
  return convert(node, o);
}
