// The answers this app reads, as services/gateway/src/openapi-schemas.ts describes them.

export interface Author {
  displayName: string;
}

export interface CatalogueItem {
  recipeId: string;
  title: string;
  /** null while the read model has not seen its registration yet */
  registeredAt: string | null;
  points: number;
  author: Author;
}

export interface CataloguePage {
  items: CatalogueItem[];
  limit: number;
  hasMore: boolean;
  nextCursor: string | null;
}

/** GET /recipes/{id}: a recommendable recipe as every member sees it. */
export interface Recipe {
  recipeId: string;
  title: string;
  registeredAt: string;
  points: number;
  recommendations: number;
  author: Author;
  /** Not in today's public recipe; shown when the API gives them. */
  ingredients?: string[];
  steps?: string[];
}

export interface Recommendation {
  recipeId: string;
  title: string;
  registeredAt: string;
  points: number;
  recommendations: number;
  /** true for a repeat (200): no points were added */
  alreadyRecommended: boolean;
}

/** POST /myrecipes, GET /myrecipes/{id}: one of the member's own recipes. */
export interface MyRecipe {
  recipeId: string;
  memberId: string;
  title: string;
  ingredients: string[];
  steps: string[];
  registeredAt: string;
  points: number;
}

export interface NewRecipe {
  title: string;
  ingredients: string[];
  steps: string[];
}

export interface Deletion {
  recipeId: string;
  pointsRevoked: number;
}

export interface MyPageRecipe {
  recipeId: string;
  title: string;
  registeredAt: string | null;
  points: number;
}

export interface MyPage {
  memberId: string;
  /** the points all the member's recipes earned (all of them, not only this page) */
  balance: number;
  recipes: MyPageRecipe[];
  limit: number;
  hasMore: boolean;
  nextCursor: string | null;
}

export interface Profile {
  displayName: string;
  source: 'member' | 'token' | 'generated';
}

/** POST /dev/sign-in (development only). */
export interface DevSession {
  token: string;
  memberId: string;
  displayName: string;
  /** ISO 8601 */
  expiresAt: string;
}

/** GET /web-config.json: how this deployment signs members in. */
export type SignInConfig =
  { kind: 'development' } | { kind: 'oidc'; authorizeUrl: string; tokenUrl: string; clientId: string; scope: string } | { kind: 'token' };

export interface WebConfig {
  signIn: SignInConfig;
}
