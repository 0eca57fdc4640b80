import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { headerFromText, textFromHeader } from './header-text.js';

describe('text in header values', () => {
  test('ASCII passes unchanged both ways', () => {
    assert.equal(headerFromText('urn:uuid:1-2'), 'urn:uuid:1-2');
    assert.equal(textFromHeader('urn:uuid:1-2'), 'urn:uuid:1-2');
  });

  test('any well-formed text becomes its UTF-8 bytes, one Latin-1 character each, and comes back', () => {
    assert.equal(headerFromText('é€'), '\xc3\xa9\xe2\x82\xac');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const header = headerFromText(text);
        for (let i = 0; i < header.length; i++) assert.ok(header.charCodeAt(i) <= 0xff);
        assert.deepEqual(Buffer.from(header, 'latin1'), Buffer.from(text, 'utf8'));
        assert.equal(textFromHeader(header), text);
      }),
    );
  });

  test('bytes that are not UTF-8 stay as they came (Latin-1), and a value that is already text is kept', () => {
    assert.equal(textFromHeader('caf\xe9'), 'caf\xe9');
    assert.equal(textFromHeader('x€y'), 'x€y');
  });
});
