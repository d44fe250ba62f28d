import fc from 'fast-check';

// Odd query strings for the listings (GET /recipes, GET /mypages/me): paging,
// search and cursor parameters, real and spoilt cursors, and the shape a 200
// must have.

/** Query strings: odd parameters, or one long value; `cursors` are real cursors and spoilt ones. */
export function oddQueryStrings(cursors: string[]) {
  const key = fc.constantFrom(
    'page',
    'size',
    'page',
    'size',
    'sort',
    'limit',
    'limit',
    'cursor',
    'cursor',
    'ingredient',
    'offset',
    'q',
    'q',
    '__proto__',
    'constructor',
    'prototype',
    'page[]',
    'size[0]',
    'Page',
    'SIZE',
    '',
    '__proto__[page]',
    'page.x',
    'toString',
    '%70age',
    'pa%00ge',
  );
  const value = fc.oneof(
    fc.constantFrom(
      '-1',
      '0',
      '1',
      '2',
      '100',
      '101',
      '10000',
      '10001',
      '1e309',
      '9'.repeat(40),
      'NaN',
      'Infinity',
      '-Infinity',
      '-0',
      '0x10',
      '0b1',
      '0o7',
      '1e2',
      '1.5',
      '',
      '%20',
      '%00',
      '%zz',
      '%',
      'null',
      'true',
      '[]',
      '{}',
      '1,2',
      '1;2',
      '%2C',
      '+1',
      ' 1'.replace(' ', '%20'),
      '١',
      '%EF%BC%91',
    ),
    fc.integer().map(String),
    fc.double().map(String),
    fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent),
    fc.integer({ min: 100, max: 3000 }).map((n) => '9'.repeat(n)),
    // Search text: Hangul, websearch syntax, LIKE and tsquery metacharacters, NUL and other controls.
    fc
      .constantFrom(
        '김치',
        '두부조림',
        '김',
        'kimchi',
        'kimchi -pork',
        '"kimchi stew"',
        'a or b',
        "'",
        '\\',
        '%',
        '_',
        '&|!():*',
        '\u0000',
        '\u001f',
        '\u2028',
      )
      .map(encodeURIComponent),
    fc.constantFrom('%EA%B9', '%ED%A0%80', '%25%', '+', '%20%20', 'a'.repeat(201), '가'.repeat(200)),
    fc.constantFrom(...cursors).map(encodeURIComponent),
    fc.string({ unit: fc.constantFrom(...'ABCxyz019-_.'), minLength: 1, maxLength: 80 }),
  );
  const pair = fc.tuple(key, value, fc.constantFrom('=', '', '==', '=')).map(([k, v, eq]) => (eq === '' ? k : `${k}${eq}${v}`));
  // Only parameters the listings take, each once, with odd values: most get past validation and reach the database.
  const listing = fc
    .uniqueArray(fc.tuple(fc.constantFrom('q', 'q', 'ingredient', 'limit', 'cursor'), value), {
      selector: ([k]) => k,
      minLength: 1,
      maxLength: 3,
    })
    .map((pairs) => ({ what: 'listing parameters', qs: pairs.map(([k, v]) => `${k}=${v}`).join('&') }));
  return fc.oneof(
    { weight: 3, arbitrary: listing },
    {
      weight: 5,
      arbitrary: fc
        .tuple(fc.array(pair, { minLength: 1, maxLength: 6 }), fc.constantFrom('&', '&', ';', '&&'), fc.constantFrom('', '', '#frag', '&'))
        .map(([pairs, sep, tail]) => ({ what: 'odd parameters', qs: `${pairs.join(sep)}${tail}` })),
    },
    // One long value, up to what the gateway's HTTP server itself accepts (16 KiB of request line and headers).
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom('page', 'size', 'q', 'cursor', 'ingredient', 'x'),
          fc.constantFrom('9', 'a', '%41', '%EA%B9%80'),
          fc.integer({ min: 4000, max: 15500 }),
        )
        .map(([k, unit, n]) => ({ what: 'one long value', qs: `${k}=${unit.repeat(Math.floor(n / unit.length))}` })),
    },
  );
}

/** A real cursor and ways to spoil it: a character changed in its body or tag, parts missing, doubled or joined. */
export function spoiltCursors(real: string[]): string[] {
  return real.flatMap((c) => {
    const [body, tag] = c.split('.') as [string, string];
    const flip = (v: string, i: number) => v.slice(0, i) + (v[i] === 'A' ? 'B' : 'A') + v.slice(i + 1);
    return [
      c,
      flip(body, 5),
      `${body}.${flip(tag, 2)}`,
      `${body}.${tag}x`,
      `${body}.`,
      `.${tag}`,
      `${body}.${tag}.${tag}`,
      `${body}${tag}`,
    ];
  });
}

const isCursor = (v: unknown) => v === null || (typeof v === 'string' && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(v));
/** Whether a 200's paging fields are a keyset page of at most `limit` items. */
export const pageOf = (body: { limit?: unknown; hasMore?: unknown; nextCursor?: unknown }, items: unknown) =>
  Array.isArray(items) &&
  Number.isInteger(body.limit) &&
  (body.limit as number) >= 1 &&
  (body.limit as number) <= 100 &&
  items.length <= (body.limit as number) &&
  typeof body.hasMore === 'boolean' &&
  isCursor(body.nextCursor) &&
  body.hasMore === (body.nextCursor !== null);
