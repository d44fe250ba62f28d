import test from 'ava';
import { validateDisplayName } from '../src/display-name.js';
import { issuesFromApi, linesOf, toNewRecipe, validateRecipe } from '../src/recipe-form.js';

const ok = { title: 'Kimchi stew', ingredients: 'kimchi\n\n  tofu  \n', steps: 'Boil.\nServe.' };

test('one per line: trimmed, blank lines left out', (t) => {
  t.deepEqual(linesOf(' a \n\n b\n'), ['a', 'b']);
  t.deepEqual(toNewRecipe(ok), { title: 'Kimchi stew', ingredients: ['kimchi', 'tofu'], steps: ['Boil.', 'Serve.'] });
  t.deepEqual(validateRecipe(ok), []);
});

test('the limits of the API: title 1-200, 1-100 items, ingredient 200, step 2000', (t) => {
  const kinds = (draft: typeof ok) => validateRecipe(draft).map((i) => [i.field, i.line, i.problem.kind]);
  t.deepEqual(kinds({ ...ok, title: '  ' }), [['title', undefined, 'required']]);
  t.deepEqual(kinds({ ...ok, title: 'x'.repeat(200) }), []);
  t.deepEqual(kinds({ ...ok, title: 'x'.repeat(201) }), [['title', undefined, 'tooLong']]);
  t.deepEqual(kinds({ ...ok, title: 'a\tb' }), [['title', undefined, 'oneLine']]);
  t.deepEqual(kinds({ ...ok, ingredients: '\n \n' }), [['ingredients', undefined, 'tooFewItems']]);
  t.deepEqual(kinds({ ...ok, ingredients: Array(101).fill('x').join('\n') }), [['ingredients', undefined, 'tooManyItems']]);
  t.deepEqual(kinds({ ...ok, ingredients: `a\n${'x'.repeat(201)}` }), [['ingredients', 1, 'tooLong']]);
  t.deepEqual(kinds({ ...ok, steps: 'x'.repeat(2000) }), []);
  t.deepEqual(kinds({ ...ok, steps: `${'x'.repeat(2001)}\nb\u0007c` }), [
    ['steps', 0, 'tooLong'],
    ['steps', 1, 'controlChars'],
  ]);
});

test("the API's details land on the form's fields, by line", (t) => {
  const { issues, other } = issuesFromApi([
    { field: 'title', message: 'too long' },
    { field: 'ingredients.2', message: 'too small' },
    { field: 'steps', message: 'too few' },
    { field: 'body', message: 'unknown key' },
  ]);
  t.deepEqual(issues, [
    { field: 'title', problem: { kind: 'api', message: 'too long' } },
    { field: 'ingredients', line: 2, problem: { kind: 'api', message: 'too small' } },
    { field: 'steps', problem: { kind: 'api', message: 'too few' } },
  ]);
  t.deepEqual(other, [{ field: 'body', message: 'unknown key' }]);
});

test('display names: 1-50 characters once trimmed, one line', (t) => {
  t.is(validateDisplayName(' Chef Alice '), undefined);
  t.is(validateDisplayName('   ')?.kind, 'required');
  t.is(validateDisplayName('가'.repeat(50)), undefined);
  t.is(validateDisplayName('가'.repeat(51))?.kind, 'tooLong');
  t.is(validateDisplayName('a\u2028b')?.kind, 'controlChars');
});
