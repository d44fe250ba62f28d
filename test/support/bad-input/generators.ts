import { randomUUID } from 'node:crypto';
import fc from 'fast-check';

// Generators of request parts, valid and invalid: headers, recipe bodies and
// the one change that makes a recipe body invalid.

export const auth = (token: string): [string, string] => ['Authorization', `Bearer ${token}`];
export const JSON_TYPE: [string, string] = ['Content-Type', 'application/json'];
export const json = (text: string) => Buffer.from(text, 'utf8');

/** Harmless but odd Unicode that may decorate any text. */
export const ODD_UNICODE = [
  '',
  '\u200f',
  '\u200e',
  '\u202e',
  '\u2066',
  '\u200d',
  '\u200b',
  '\u{1F372}',
  'e\u0301',
  'שלום',
  'مرحبا',
  '김치',
  '\ufdfd',
  '\u{10FFFF}',
  'ᾈ',
];
export const CONTROL = [
  ...Array.from({ length: 9 }, (_, i) => String.fromCharCode(i)),
  ...Array.from({ length: 21 }, (_, i) => String.fromCharCode(0x0b + i)),
  '\u007f',
];

const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), minLength: 1, maxLength: 12 });
const text = (maxWords: number) =>
  fc
    .tuple(fc.array(word, { minLength: 1, maxLength: maxWords }), fc.constantFrom(...ODD_UNICODE), fc.constantFrom(...ODD_UNICODE))
    .map(([words, a, b]) => `${a}${words.join(' ')}${b}`);
/** A valid recipe, decorated with odd (but valid) Unicode. */
export const validRecipe = fc.record({
  title: text(6),
  ingredients: fc.array(text(3), { minLength: 1, maxLength: 6 }),
  steps: fc.array(text(12), { minLength: 1, maxLength: 5 }),
});
type RecipeBody = { title: string; ingredients: string[]; steps: string[] };

/** Unknown keys that are reflected in error messages: keep them plain. */
const safeKey = fc
  .string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789_'), minLength: 1, maxLength: 16 })
  .filter((k) => /^[a-zA-Z]/.test(k) && !['title', 'ingredients', 'steps'].includes(k));
export const anyJson = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null');

/** A JSON object written entry by entry, so `__proto__` and duplicate keys survive. */
export type Entry = [key: string, valueJson: string];
export const objectText = (entries: Entry[]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
export const entriesOf = (r: RecipeBody): Entry[] => [
  ['title', JSON.stringify(r.title)],
  ['ingredients', JSON.stringify(r.ingredients)],
  ['steps', JSON.stringify(r.steps)],
];

export type Field = 'title' | 'ingredients' | 'steps';
export const FIELDS: Field[] = ['title', 'ingredients', 'steps'];
export const MASS_ASSIGNMENT = [
  'points',
  'memberId',
  'recipeId',
  'registeredAt',
  'requestHash',
  'authorId',
  'recommenders',
  'balance',
  'deleted',
];
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];
export const CANARY = `polluted-${randomUUID().slice(0, 8)}`;

/** A value that is wrong for `field` whatever else the body holds. */
function wrongValue(field: Field): fc.Arbitrary<{ what: string; json: string }> {
  const common = [
    fc.integer().map((n) => ({ what: 'a number', json: JSON.stringify(n) })),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => ({ what: 'a number', json: JSON.stringify(n) })),
    fc.boolean().map((b) => ({ what: 'a boolean', json: JSON.stringify(b) })),
    fc.constant({ what: 'null', json: 'null' }),
    fc.dictionary(safeKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((o) => ({ what: 'an object', json: JSON.stringify(o) })),
    fc.constant({ what: 'an object', json: `{"__proto__":{"${CANARY}":true}}` }),
  ];
  if (field === 'title') {
    return fc.oneof(
      ...common,
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }).map((a) => ({ what: 'an array', json: JSON.stringify(a) })),
      fc.constantFrom('', '   ', '\u00a0\u2003\ufeff', '\t', '\n\n').map((s) => ({ what: 'a blank string', json: JSON.stringify(s) })),
      fc.constant({ what: 'an array of strings', json: '["Kimchi stew"]' }),
    );
  }
  const maxLength = field === 'ingredients' ? 200 : 2000;
  const badElement = fc.oneof(
    ...common,
    fc.constantFrom('', '  ', '\u3000').map((s) => ({ what: 'a blank string', json: JSON.stringify(s) })),
    fc
      .integer({ min: maxLength + 1, max: maxLength * 4 })
      .map((n) => ({ what: 'an oversize string', json: JSON.stringify('y'.repeat(n)) })),
    fc.array(fc.string({ maxLength: 5 }), { minLength: 1, maxLength: 3 }).map((a) => ({ what: 'an array', json: JSON.stringify(a) })),
  );
  return fc.oneof(
    ...common,
    fc.string({ minLength: 1, maxLength: 30 }).map((s) => ({ what: 'a string', json: JSON.stringify(`x${s}`) })),
    fc.constant({ what: 'an empty list', json: '[]' }),
    fc
      .integer({ min: 101, max: 400 })
      .map((n) => ({ what: `a list of ${n}`, json: JSON.stringify(Array.from({ length: n }, (_, i) => `item ${i}`)) })),
    fc.tuple(fc.array(text(2), { maxLength: 3 }), badElement, fc.array(text(2), { maxLength: 3 })).map(([before, bad, after]) => ({
      what: `a list holding ${bad.what}`,
      json: `[${[...before.map((s) => JSON.stringify(s)), bad.json, ...after.map((s) => JSON.stringify(s))].join(',')}]`,
    })),
  );
}

/** One change that makes any recipe body invalid. */
type Breaker = { what: string; apply: (entries: Entry[]) => Entry[] };
const replaceField = (field: Field, json: string) => (entries: Entry[]) => {
  const rest = entries.filter(([k]) => k !== field);
  return [...rest, [field, json] as Entry];
};
export const breaker: fc.Arbitrary<Breaker> = fc.oneof(
  fc
    .constantFrom(...FIELDS)
    .chain((field) => wrongValue(field).map((v) => ({ what: `${field} is ${v.what}`, apply: replaceField(field, v.json) }))),
  fc
    .constantFrom(...FIELDS)
    .map((field) => ({ what: `${field} is missing`, apply: (entries: Entry[]) => entries.filter(([k]) => k !== field) })),
  fc
    .integer({ min: 201, max: 6000 })
    .map((n) => ({ what: 'title is too long', apply: replaceField('title', JSON.stringify('T'.repeat(n))) })),
  fc
    .integer({ min: 201, max: 3000 })
    .map((n) => ({ what: 'an ingredient is too long', apply: replaceField('ingredients', JSON.stringify(['rice', 'i'.repeat(n)])) })),
  fc
    .integer({ min: 2001, max: 20000 })
    .map((n) => ({ what: 'a step is too long', apply: replaceField('steps', JSON.stringify(['s'.repeat(n)])) })),
  fc
    .tuple(fc.constantFrom(...FIELDS), fc.constantFrom(...CONTROL, '\n', '\t', '\r'))
    .map(([field, c]) => ({
      what: `${field} holds control character U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      apply: replaceField(field, field === 'title' ? JSON.stringify(`Kimchi${c}stew`) : JSON.stringify(['fine', `bad${c}one`])),
    }))
    .filter((b) => !(b.what.startsWith('ingredients') || b.what.startsWith('steps')) || !/U\+000(9|a|d)/.test(b.what)),
  fc.tuple(fc.constantFrom(...MASS_ASSIGNMENT, ...PROTOTYPE_KEYS), anyJson).map(([key, value]) => ({
    what: `an extra ${key} field`,
    apply: (entries: Entry[]) => [...entries, [key, value] as Entry],
  })),
  fc
    .tuple(safeKey, anyJson)
    .map(([key, value]) => ({ what: 'an unknown field', apply: (entries: Entry[]) => [...entries, [key, value] as Entry] })),
  fc.constantFrom(...FIELDS).map((field) => ({
    what: `${field} is capitalised`,
    apply: (entries: Entry[]) => entries.map(([k, v]) => [k === field ? k.toUpperCase() : k, v] as Entry),
  })),
  fc.constantFrom(...FIELDS).chain((field) =>
    wrongValue(field).map((v) => ({
      what: `${field} repeated, last one ${v.what}`,
      apply: (entries: Entry[]) => [...entries, [field, v.json] as Entry],
    })),
  ),
);

export const notAnObject = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('null', 'true', 'false', '""', '"Kimchi stew"', '[]', '[{}]'),
  validRecipe.map((r) => JSON.stringify([r])),
  validRecipe.map((r) => JSON.stringify(JSON.stringify(r))),
);

export const isJson = (buf: Buffer) => {
  try {
    JSON.parse(buf.toString('utf8'));
    return true;
  } catch {
    return false;
  }
};
