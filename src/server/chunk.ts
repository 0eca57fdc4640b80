/** HTTP/1.1 chunked transfer-encoding framing, for bytes written once and shared. */

/** Wraps bytes in one chunk of HTTP/1.1 chunked transfer-encoding. */
export function frameChunk(payload: Uint8Array): Buffer {
  const size = payload.byteLength.toString(16);
  const out = Buffer.allocUnsafe(size.length + 4 + payload.byteLength);
  out.write(size, 0, 'latin1');
  let at = size.length;
  out[at++] = 13;
  out[at++] = 10;
  out.set(payload, at);
  at += payload.byteLength;
  out[at++] = 13;
  out[at] = 10;
  return out;
}
