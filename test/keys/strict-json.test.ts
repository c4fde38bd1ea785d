import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findDuplicateMember, maxNestingDepth } from '../../src/keys/strict-json.js';

/** Every input must be valid JSON: the scanner is documented to run after JSON.parse succeeded. */
function dup(json: string): string | undefined {
  JSON.parse(json);
  return findDuplicateMember(json);
}

describe('findDuplicateMember', () => {
  const none: [string, string][] = [
    ['an empty object', '{}'],
    ['distinct members', '{"a":1,"b":2,"c":3}'],
    ['a scalar', '42'],
    ['a string', '"a"'],
    ['an array of scalars', '[1,"a","a",true,null]'],
    ['the same name in sibling objects', '{"x":{"a":1},"y":{"a":2}}'],
    ['the same name in parent and child', '{"a":{"a":{"a":1}}}'],
    ['an array of objects with the same names', '[{"a":1,"b":2},{"a":3,"b":4},{"a":5}]'],
    ['objects inside an array inside an object', '{"list":[{"a":1},{"a":2}],"a":3}'],
    ['a name seen only in a nested array object', '{"a":[1,{"b":1}],"b":2}'],
    ['a string value that looks like members', '{"a":"\\"b\\":1,\\"b\\":2","b":3}'],
    ['a string value with braces and commas', '{"a":"{,\\"a\\":1}","b":"[,]"}'],
    ['a string value ending in a backslash', '{"a":"\\\\","b":"\\\\"}'],
    ['a name ending in an escaped backslash', '{"a\\\\":1,"a":2}'],
    ['names that differ only in case', '{"A":1,"a":2}'],
    ['whitespace everywhere', ' { "a" : 1 , "b" : [ { "a" : 2 } ] } '],
    ['empty nested containers', '{"a":{},"b":[],"c":[{}],"d":[[]]}'],
  ];
  for (const [name, json] of none) {
    test(`no duplicate: ${name}`, () => assert.equal(dup(json), undefined));
  }

  const found: [string, string, string][] = [
    ['at the top level', '{"a":1,"a":2}', 'a'],
    ['not adjacent', '{"a":1,"b":2,"a":3}', 'a'],
    ['in a nested object', '{"x":{"a":1,"a":2}}', 'a'],
    ['deep inside', '{"x":{"y":{"z":{"k":1,"k":1}}}}', 'k'],
    ['in an object inside an array', '[{"a":1},{"b":1,"b":2}]', 'b'],
    ['after a nested object closes', '{"a":{"b":1},"a":2}', 'a'],
    ['after a nested array closes', '{"a":[1,2],"a":3}', 'a'],
    ['after an array of objects closes', '{"a":[{"a":1},{"a":2}],"a":3}', 'a'],
    ['spelled with a unicode escape', '{"a":1,"\\u0061":2}', 'a'],
    ['a name holding an escaped quote', '{"a\\"b":1,"a\\"b":2}', 'a"b'],
    ['a name holding a backslash', '{"a\\\\b":1,"a\\\\b":2}', 'a\\b'],
    ['the empty name', '{"":1,"":2}', ''],
    ['"__proto__"', '{"__proto__":1,"__proto__":2}', '__proto__'],
    ['non-ASCII names', '{"ünï":1,"\\u00fcn\\u00ef":2}', 'ünï'],
    ['with whitespace', '{ "a" : 1 ,\n "a" : 2 }', 'a'],
    ['after a value string with escapes', '{"a":"x\\"y","a":1}', 'a'],
    ['in a later sibling object', '{"x":{"a":1},"y":{"a":1,"a":2}}', 'a'],
  ];
  for (const [name, json, member] of found) {
    test(`duplicate ${name}`, () => assert.equal(dup(json), member));
  }

  test('a duplicate that JSON.parse silently resolves is still reported', () => {
    const json = '{"alg":"none","alg":"EdDSA"}';
    assert.equal((JSON.parse(json) as { alg: string }).alg, 'EdDSA');
    assert.equal(findDuplicateMember(json), 'alg');
  });
});

describe('maxNestingDepth', () => {
  const cases: [string, number][] = [
    ['42', 0],
    ['"{[{["', 0],
    ['{}', 1],
    ['[]', 1],
    ['{"a":1,"b":[2]}', 2],
    ['{"a":{"b":{"c":[1,{"d":null}]}}}', 5],
    ['[[],[[]],[]]', 3],
    ['{"a":"]]]}}}","b":[[["x"]]]}', 4],
    ['{"a\\\\":[["\\\\"]]}', 3],
    ['{"a":"\\\\\\"[[[["}', 1],
  ];
  for (const [json, depth] of cases) {
    test(`${json} nests ${depth}`, () => {
      JSON.parse(json);
      assert.equal(maxNestingDepth(json), depth);
    });
  }

  test('very deep nesting is measured without recursion', () => {
    const json = '['.repeat(100_000) + ']'.repeat(100_000);
    assert.equal(maxNestingDepth(json), 100_000);
  });
});
