// `npm run seed`: fills a running system (npm start) with a few members'
// recipes and recommendations through the public API, so a first look is not
// an empty page. Signs in with the development sign-in (POST /dev/sign-in),
// so it needs a gateway with DEV_SIGN_IN=true, as npm start's.
//
// Safe to run again: each recipe goes with an Idempotency-Key of its own, so a
// second run finds the recipes of the first instead of adding copies, and a
// recommendation made again earns nothing more.
//
// Settings: GATEWAY_URL (default: the local run's gateway, else http://localhost:8080).
import { readLocalRun } from './lib/local.js';

interface Seed {
  title: string;
  ingredients: string[];
  steps: string[];
}

const MEMBERS: Record<string, Seed[]> = {
  Minji: [
    {
      title: '김치찌개',
      ingredients: ['김치', '돼지고기 앞다리살', '두부', '대파', '고춧가루'],
      steps: ['돼지고기와 김치를 냄비에 볶는다.', '물을 붓고 끓으면 두부와 대파를 넣는다.', '20분 더 끓인다.'],
    },
    {
      title: '비빔밥',
      ingredients: ['밥', '시금치', '콩나물', '당근', '달걀', '고추장', '참기름'],
      steps: ['나물을 각각 데쳐 무친다.', '밥 위에 나물과 달걀 프라이를 올린다.', '고추장과 참기름을 넣어 비빈다.'],
    },
  ],
  Alice: [
    {
      title: 'Tomato and basil pasta',
      ingredients: ['spaghetti', 'tomatoes', 'garlic', 'basil', 'olive oil', 'parmesan'],
      steps: [
        'Cook the spaghetti in salted water.',
        'Soften the garlic in olive oil, add the tomatoes and simmer 10 minutes.',
        'Toss with the pasta and basil; grate parmesan over.',
      ],
    },
    {
      title: 'Lemon pancakes',
      ingredients: ['flour', 'milk', 'eggs', 'lemon', 'sugar', 'butter'],
      steps: [
        'Whisk flour, milk, eggs, sugar and lemon zest.',
        'Fry ladlefuls in butter until golden on both sides.',
        'Serve with lemon juice and sugar.',
      ],
    },
  ],
  Joon: [
    {
      title: '된장찌개',
      ingredients: ['된장', '애호박', '두부', '감자', '양파', '멸치 육수'],
      steps: ['멸치 육수에 된장을 푼다.', '감자와 양파를 넣고 끓인다.', '애호박과 두부를 넣고 5분 더 끓인다.'],
    },
  ],
  Bob: [
    {
      title: 'Vegetable fried rice',
      ingredients: ['cooked rice', 'eggs', 'peas', 'carrot', 'spring onion', 'soy sauce'],
      steps: ['Scramble the eggs and set aside.', 'Stir-fry the vegetables, add the rice and soy sauce.', 'Fold the eggs back in.'],
    },
  ],
};

/** Who recommends whose recipes: everyone recommends Minji's stew, and a few more, so the catalogue has an order. */
const RECOMMENDATIONS: [string, string][] = [
  ['Alice', '김치찌개'],
  ['Joon', '김치찌개'],
  ['Bob', '김치찌개'],
  ['Minji', 'Tomato and basil pasta'],
  ['Bob', 'Tomato and basil pasta'],
  ['Alice', '된장찌개'],
  ['Minji', 'Vegetable fried rice'],
];

const gateway = (process.env.GATEWAY_URL ?? readLocalRun()?.gatewayUrl ?? 'http://localhost:8080').replace(/\/$/, '');

async function api<T>(method: string, path: string, { token, body, key }: { token?: string; body?: unknown; key?: string } = {}) {
  const res = await fetch(gateway + path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(key ? { 'idempotency-key': key } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => undefined)) as T & { error?: { code: string; message: string } };
  return { status: res.status, answer, retryAfter: Number(res.headers.get('retry-after') ?? 0) };
}

/** A 503 or 504 is "try again": the same request, with the same key, finds out or does it. */
async function patiently<T>(what: string, request: () => ReturnType<typeof api<T>>) {
  for (let attempt = 1; ; attempt++) {
    const result = await request();
    if ((result.status !== 503 && result.status !== 504) || attempt === 10) return result;
    console.log(`  ${what}: ${result.status}, again in ${result.retryAfter || 1} s`);
    await new Promise((resolve) => setTimeout(resolve, (result.retryAfter || 1) * 1000));
  }
}

const fail = (message: string): never => {
  console.error(message);
  process.exit(1);
};

const config = await fetch(`${gateway}/web-config.json`).then(
  (res) => res.json() as Promise<{ signIn?: { kind?: string } }>,
  (err: Error) => fail(`no gateway at ${gateway} (${err.message}): start the system with npm start, or set GATEWAY_URL`),
);
if (config.signIn?.kind !== 'development')
  fail(`the gateway at ${gateway} has no development sign-in (DEV_SIGN_IN=true): seed a local run only`);

const tokens: Record<string, string> = {};
for (const name of Object.keys(MEMBERS)) {
  const { status, answer } = await api<{ token: string }>('POST', '/dev/sign-in', { body: { name } });
  if (status !== 200) fail(`signing in ${name}: ${status} ${JSON.stringify(answer)}`);
  tokens[name] = answer.token;
}

const recipeIds = new Map<string, string>();
for (const [name, seeds] of Object.entries(MEMBERS)) {
  for (const seed of seeds) {
    const key = `seed-${name}-${Buffer.from(seed.title).toString('base64url')}`;
    const { status, answer } = await patiently(seed.title, () =>
      api<{ recipeId: string }>('POST', '/myrecipes', { token: tokens[name], body: seed, key }),
    );
    if (status === 201) {
      recipeIds.set(seed.title, answer.recipeId);
      console.log(`${name} registered ${seed.title}`);
    } else if (status === 409) {
      console.log(`${name}'s ${seed.title}: seeded before and deleted since, left alone`);
    } else fail(`${name} registering ${seed.title}: ${status} ${JSON.stringify(answer)}`);
  }
}

let recommended = 0;
for (const [name, title] of RECOMMENDATIONS) {
  const recipeId = recipeIds.get(title);
  if (!recipeId) continue;
  // A new recipe reaches the recommendation service by an event, a moment after it was registered: 404 until then.
  const recommend = () => patiently(title, () => api('POST', `/recipes/${recipeId}/recommendations`, { token: tokens[name] }));
  let { status, answer } = await recommend();
  for (const deadline = Date.now() + 30_000; status === 404 && Date.now() < deadline; { status, answer } = await recommend()) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (status === 201) recommended++;
  else if (status !== 200) fail(`${name} recommending ${title}: ${status} ${JSON.stringify(answer)}`);
}

console.log(
  `${recipeIds.size} recipes of ${Object.keys(MEMBERS).length} members, ${recommended} new recommendations: open ${gateway}/ and sign in as ${Object.keys(MEMBERS).join(', ')}`,
);
