/**
 * Text in HTTP header values. A header value is bytes, and Node and fetch hand it over as a Latin-1 string
 * (one character per byte) and accept only such strings back. An event ID is any text without CR, LF or
 * NUL, and WHATWG has user agents send `Last-Event-ID` as the ID's UTF-8 bytes; these two functions carry
 * IDs (and other text) across that boundary, so `é` or `€` in an ID survives a resume.
 */

const ASCII = /^[\x00-\x7f]*$/;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The string to give a header API so that the bytes on the wire are `text` in UTF-8. ASCII is unchanged. */
export function headerFromText(text: string): string {
  if (ASCII.test(text)) return text;
  let out = '';
  for (const byte of utf8.encode(text)) out += String.fromCharCode(byte);
  return out;
}

/**
 * The text a received header value carries: its bytes read as UTF-8. A value whose bytes are not UTF-8 is
 * returned as it came (each byte a Latin-1 character).
 */
export function textFromHeader(value: string): string {
  if (ASCII.test(value)) return value;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff) return value; // not a byte string: already text
    bytes[i] = code;
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return value;
  }
}
