// What this tab learnt about recipes, per member: which are theirs (so their
// page asks for the member's own copy first) and which they recommended (the
// API tells that only in the answer to a recommendation).

const read = (key: string): string[] => {
  try {
    const list = JSON.parse(sessionStorage.getItem(key) ?? '[]') as unknown;
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
};
const add = (key: string, id: string) => {
  const list = read(key);
  if (!list.includes(id)) sessionStorage.setItem(key, JSON.stringify([...list.slice(-499), id]));
};

const ownKey = (member: string | undefined) => `recipe.own.${member ?? ''}`;
const recommendedKey = (member: string | undefined) => `recipe.recommended.${member ?? ''}`;

export const isKnownOwn = (member: string | undefined, recipeId: string) => read(ownKey(member)).includes(recipeId);
export const rememberOwn = (member: string | undefined, recipeId: string) => add(ownKey(member), recipeId);
export const wasRecommended = (member: string | undefined, recipeId: string) => read(recommendedKey(member)).includes(recipeId);
export const rememberRecommended = (member: string | undefined, recipeId: string) => add(recommendedKey(member), recipeId);
