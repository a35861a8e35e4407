/** The strict DER reader CRLs are read with. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DerError, DerReader, derInteger, derTime } from './der.ts';

const bytes = (...values: number[]) => new Uint8Array(values);

test('definite, minimal lengths only; nothing past the input', () => {
  const read = (...values: number[]) => new DerReader(bytes(...values), 'input').read();
  assert.deepEqual([...read(0x04, 0x02, 0xaa, 0xbb).value], [0xaa, 0xbb]);
  const long = new Uint8Array([0x04, 0x81, 0x80, ...new Uint8Array(0x80)]);
  assert.equal(new DerReader(long, 'input').read().value.length, 0x80);
  assert.throws(() => read(0x30, 0x80, 0x00, 0x00), /indefinite length/);
  assert.throws(() => read(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), /not minimal/);
  assert.throws(() => read(0x04, 0x82, 0x00, 0x90), /not minimal/);
  assert.throws(() => read(0x04, 0x85, 1, 1, 1, 1, 1), /more than four bytes/);
  assert.throws(() => read(0x04, 0x03, 1, 2), /longer than its input/);
  assert.throws(() => read(0x1f, 0x01, 0x00), /multi-byte tag/);
  assert.throws(() => read(), /missing/);
  const reader = new DerReader(bytes(0x05, 0x00, 0x05, 0x00), 'input');
  reader.read(0x05);
  assert.throws(() => reader.end(), DerError);
  assert.throws(() => reader.read(0x04), /tag 0x5 where 0x4 belongs/);
});

test('INTEGERs are minimal two’s complement', () => {
  assert.equal(derInteger(bytes(0x01), 'n'), 1n);
  assert.equal(derInteger(bytes(0x00, 0x80), 'n'), 128n);
  assert.equal(derInteger(bytes(0xff), 'n'), -1n);
  assert.equal(derInteger(bytes(0x10, 0x00), 'n'), 4096n);
  assert.throws(() => derInteger(bytes(0x00, 0x01), 'n'), /not minimally encoded/);
  assert.throws(() => derInteger(bytes(0xff, 0x80), 'n'), /not minimally encoded/);
  assert.throws(() => derInteger(bytes(), 'n'), /empty/);
});

test('times: UTCTime (RFC 5280 years) and GeneralizedTime, to the second, in UTC', () => {
  const time = (tag: number, text: string) =>
    derTime({ tag, value: Buffer.from(text), whole: new Uint8Array() }, 't');
  assert.equal(time(0x17, '491231235959Z').toISOString(), '2049-12-31T23:59:59.000Z');
  assert.equal(time(0x17, '500101000000Z').toISOString(), '1950-01-01T00:00:00.000Z');
  assert.equal(time(0x18, '21240101000000Z').toISOString(), '2124-01-01T00:00:00.000Z');
  assert.throws(() => time(0x18, '20240230000000Z'), /not a valid time/);
  assert.throws(() => time(0x18, '20240101000000+0100'), DerError);
  assert.throws(() => time(0x17, '2401010000Z'), DerError);
  assert.throws(() => time(0x04, '20240101000000Z'), DerError);
});
