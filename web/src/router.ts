import { useEffect, useState } from 'preact/hooks';

/** Hash routes: the API's paths (/recipes/…) are served by the same origin, so the page's own live after '#'. */
export type Route =
  | { page: 'catalogue'; q: string }
  | { page: 'recipe'; recipeId: string }
  | { page: 'new' }
  | { page: 'me' }
  | { page: 'sign-in' }
  | { page: 'not-found' };

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  if (path === '' || path === '/') return { page: 'catalogue', q: new URLSearchParams(search).get('q') ?? '' };
  const recipe = /^\/recipes\/([^/]+)$/.exec(path);
  if (recipe?.[1]) return { page: 'recipe', recipeId: decodeURIComponent(recipe[1]) };
  if (path === '/new') return { page: 'new' };
  if (path === '/me') return { page: 'me' };
  if (path === '/sign-in') return { page: 'sign-in' };
  return { page: 'not-found' };
}

export const href = {
  catalogue: (q = '') => (q ? `#/?${new URLSearchParams({ q }).toString()}` : '#/'),
  recipe: (recipeId: string) => `#/recipes/${encodeURIComponent(recipeId)}`,
  new: '#/new',
  me: '#/me',
  signIn: '#/sign-in',
};

export function navigate(hash: string): void {
  location.hash = hash;
}

export function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = () => setHash(location.hash);
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return hash;
}
