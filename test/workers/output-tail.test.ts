import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputTail, lineLogger, utf8Head, utf8Tail } from '../../src/workers/output-tail.ts';
import { memoryLogger } from '../helpers/definitions.ts';

describe('utf8Tail / utf8Head', () => {
  const text = Buffer.from('aé€😀b'); // 1 + 2 + 3 + 4 + 1 bytes
  const cases: Array<[number, string, string]> = [
    // [max, tail, head]
    [11, 'aé€😀b', 'aé€😀b'],
    [10, 'é€😀b', 'aé€😀'],
    [9, '€😀b', 'aé€'],
    [8, '€😀b', 'aé€'],
    [7, '😀b', 'aé€'],
    [5, '😀b', 'aé'],
    [4, 'b', 'aé'],
    [1, 'b', 'a'],
    [0, '', ''],
  ];
  for (const [max, tail, head] of cases) {
    it(`cuts ${max} bytes on a character boundary`, () => {
      assert.equal(utf8Tail(text, max).toString(), tail);
      assert.equal(utf8Head(text, max).toString(), head);
    });
  }
});

describe('OutputTail', () => {
  it('keeps the last bytes across chunks', () => {
    const tail = new OutputTail(8);
    for (const s of ['abc', 'def', 'ghi', 'jk']) tail.push(Buffer.from(s));
    assert.equal(tail.toString(), 'defghijk');
    assert.equal(tail.totalBytes, 11);
    assert.equal(tail.truncated, true);
    tail.push(Buffer.from('0123456789'));
    assert.equal(tail.toString(), '23456789');
  });

  it('does not start in the middle of a character', () => {
    const tail = new OutputTail(4);
    tail.push(Buffer.from('x€'));
    tail.push(Buffer.from('€'));
    assert.equal(tail.toString(), '€');
  });
});

describe('lineLogger', () => {
  it('logs complete lines with the stream name, keeping split characters whole', () => {
    const { logger, entries } = memoryLogger();
    const lines = lineLogger(logger, { job: 'j' }, 'stderr');
    const bytes = Buffer.from('one\r\ntwo €\nthree');
    lines.write(bytes.subarray(0, 9)); // ends inside '€'
    lines.write(bytes.subarray(9));
    lines.end();
    assert.deepEqual(
      entries.map((e) => [e.msg, e.stream, e.job]),
      [['one', 'stderr', 'j'], ['two €', 'stderr', 'j'], ['three', 'stderr', 'j']],
    );
  });
});
