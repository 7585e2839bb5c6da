import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, InvalidArgumentError, fromWire, isHostFault, toWire } from './errors.js';

test('an error sent across a process or thread comes back as the kind it was', () => {
  const kinds = [new InvalidArgumentError('bad entry'), new ConflictError('in use')];
  for (const err of kinds) {
    const back = fromWire(JSON.parse(JSON.stringify(toWire(err))));
    assert.equal(back.constructor, err.constructor);
    assert.equal(back.message, err.message);
  }
  // A host's failure keeps its errno name, so it stays a server error rather than bad input.
  const full: NodeJS.ErrnoException = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/x' });
  const back = fromWire(JSON.parse(JSON.stringify(toWire(full)))) as NodeJS.ErrnoException;
  assert.ok(isHostFault(back));
  assert.deepEqual([back.message, back.syscall, back.path], [full.message, 'write', '/x']);
  // Anything else is an internal error with its text, and no made-up code.
  const plain = fromWire(toWire(new TypeError('oops'))) as NodeJS.ErrnoException;
  assert.deepEqual([plain.constructor, plain.message, plain.code], [Error, 'oops', undefined]);
});
