import test from 'ava';
import { analyse, type Catalogued, type Written } from '../support/consistency.js';
import type { Op } from '../support/history.js';

// The consistency checker must be able to fail: each anomaly it looks for,
// planted in an otherwise correct history, is reported, and nothing else.
const op = (o: Partial<Op> & Pick<Op, 'kind' | 'recipeId' | 'outcome'>): Op => ({ member: 'm1', gateway: 0, start: 0, end: 1, ...o });
const live = (recipeId: string): Written => ({ recipeId, memberId: 'm1' });
const deleted = (recipeId: string, pointsRevoked: number): Written => ({ recipeId, memberId: 'm1', deletedAt: 'x', pointsRevoked });
const catalogued = (recipeId: string, by: string[], deletedAt?: string): Catalogued => ({
  recipeId,
  points: by.length,
  recommendations: by.map((b) => ({ by: b, points: 1 })),
  deletedAt,
});

function correct() {
  const ops: Op[] = [
    op({ kind: 'register', recipeId: 'r1', outcome: 'ok', status: 201, body: { recipeId: 'r1' } }),
    op({ kind: 'register', recipeId: 'r2', outcome: 'refused', status: 503 }),
    op({ kind: 'recommend', recipeId: 'r1', member: 'm2', outcome: 'ok', status: 201, start: 2, end: 3 }),
    op({ kind: 'delete', recipeId: 'r1', outcome: 'unknown', status: 504, start: 4, end: 5 }),
    op({ kind: 'delete', recipeId: 'r1', outcome: 'ok', status: 200, start: 6, end: 7, body: { pointsRevoked: 1 } }),
    op({ kind: 'recommend', recipeId: 'r1', member: 'm3', outcome: 'rejected', status: 404, start: 8, end: 9 }),
  ];
  return { ops, written: new Map([['r1', deleted('r1', 1)]]), catalogue: new Map([['r1', catalogued('r1', ['m2'], 'x')]]) };
}

test('a correct history has no anomaly', (t) => {
  const { ops, written, catalogue } = correct();
  t.deepEqual([...analyse(ops, written, catalogue).keys()], []);
});

const planted: [string, (h: ReturnType<typeof correct>) => void][] = [
  ['acknowledged registration lost', (h) => h.written.delete('r1')],
  ['refused registration happened anyway', (h) => h.written.set('r2', live('r2'))],
  [
    'retried key answered another recipe',
    (h) => h.ops.push(op({ kind: 'register', recipeId: 'r1', outcome: 'ok', status: 201, body: { recipeId: 'other' } })),
  ],
  ['acknowledged delete lost', (h) => h.written.set('r1', live('r1'))],
  [
    'a retried delete answered differently',
    (h) => h.ops.push(op({ kind: 'delete', recipeId: 'r1', outcome: 'ok', status: 200, body: { pointsRevoked: 2 } })),
  ],
  ["points revoked differ from the recipe's points", (h) => h.catalogue.set('r1', catalogued('r1', ['m2', 'm4'], 'x'))],
  ['acknowledged recommendation lost', (h) => h.catalogue.set('r1', { ...catalogued('r1', [], 'x'), points: 1 })],
  [
    'refused recommendation counted anyway',
    (h) => {
      h.ops.push(op({ kind: 'recommend', recipeId: 'r1', member: 'm5', outcome: 'refused', status: 503 }));
      h.catalogue.set('r1', { ...catalogued('r1', ['m2', 'm5'], 'x'), points: 1 });
    },
  ],
  [
    'deleted recipe recommended',
    (h) => h.ops.push(op({ kind: 'recommend', recipeId: 'r1', member: 'm6', outcome: 'ok', status: 201, start: 8, end: 9 })),
  ],
];

for (const [kind, plant] of planted) {
  test(`it finds: ${kind}`, (t) => {
    const history = correct();
    plant(history);
    const found = analyse(history.ops, history.written, history.catalogue);
    t.true(found.has(kind), `found ${[...found.keys()].join(', ') || 'nothing'}`);
  });
}
