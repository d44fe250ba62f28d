import test from 'ava';
import { searchDocument, searchQuery } from '../src/search.js';

test('Hangul is indexed and searched as two-syllable pieces; ingredients match normalised; LIKE characters are escaped', (t) => {
  const doc = searchDocument('김치찌개 Kimchi stew', ['  Pork   BELLY ', '두부', '국']);
  t.is(doc.titlePieces, '김치 치찌 찌개');
  t.is(doc.ingredientPieces, '두부 국');
  t.deepEqual(doc.ingredientKeys, ['pork belly', '두부', '국']);
  t.deepEqual(searchQuery('김치 stew'), { english: '  stew', hangul: "'김치'", like: '%김치 stew%' });
  t.deepEqual(searchQuery('두부'), { english: ' ', hangul: "'두부'", like: undefined });
  t.is(searchQuery('50%_off\\').like, '%50\\%\\_off\\\\%');
});
