import { ApiError, errorFromResponse, NetworkError, RetryableError, UnauthenticatedError } from './errors.js';
import type {
  CataloguePage,
  Deletion,
  DevSession,
  MyPage,
  MyRecipe,
  NewRecipe,
  Profile,
  Recipe,
  Recommendation,
  WebConfig,
} from './types.js';

/** Told before each wait, so a page can show a countdown. */
export interface RetryNotice {
  /** The answer that made us wait: 429, 503, 504 or no answer. */
  error: ApiError;
  /** Seconds until the next try. */
  seconds: number;
  /** 1 for the first retry. */
  attempt: number;
}

export interface ClientOptions {
  fetch: typeof fetch;
  /** Resolves after `ms`; tests pass a fake that does not wait. */
  sleep: (ms: number) => Promise<void>;
  /** Milliseconds since the epoch (for Retry-After dates). */
  now: () => number;
  /** The bearer token, or undefined when there is none (or it has expired). */
  token: () => string | undefined;
  /** Called on a 401 or a missing token, before the call fails with UnauthenticatedError. */
  onUnauthenticated?: (error: UnauthenticatedError) => void;
  /** '' for the same origin. */
  baseUrl?: string;
  /** How many times a safe request is tried again after a 429/503/504 or no answer (3 unless given). */
  maxRetries?: number;
  /** Longer waits than this are not sat through: the error is thrown instead. */
  maxRetryAfterSeconds?: number;
  /** Seconds to wait after no answer at all (no Retry-After to go by). */
  networkRetrySeconds?: number;
}

export interface CallOptions {
  /** Sent as Idempotency-Key on every try: it makes a POST safe to retry. */
  idempotencyKey?: string;
  /** Told before each wait. */
  onRetry?: (notice: RetryNotice) => void;
  /** Overrides ClientOptions.maxRetries for this call (0: never retry, e.g. for polling). */
  maxRetries?: number;
}

interface RequestSpec extends CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /** Public endpoints (config, development sign-in) go without a token. */
  anonymous?: boolean;
  /** A request the API defines as safe to repeat although its method is not (e.g. a repeat recommendation is a 200 no-op). */
  repeatable?: boolean;
}

/** Whether repeating the request cannot do anything twice: then it may be retried. */
export function isRetrySafe(spec: Pick<RequestSpec, 'method' | 'idempotencyKey' | 'repeatable'>): boolean {
  if (spec.method === 'GET' || spec.method === 'PUT' || spec.method === 'DELETE') return true;
  return spec.idempotencyKey !== undefined || spec.repeatable === true;
}

/** 1-128 visible ASCII characters, as the API requires; fresh for each new submission. */
export function newIdempotencyKey(random: (bytes: Uint8Array<ArrayBuffer>) => void = (b) => crypto.getRandomValues(b)): string {
  const bytes = new Uint8Array(16);
  random(bytes);
  return 'web-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const query = (params: Record<string, string | number | undefined>) => {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  return entries.length ? '?' + new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString() : '';
};
const recipePath = (id: string) => encodeURIComponent(id);

/** The gateway's API, with typed errors, and retries after Retry-After where a repeat is safe. */
export class ApiClient {
  private readonly baseUrl: string;
  private readonly maxRetries: number;
  private readonly maxRetryAfter: number;
  private readonly networkRetrySeconds: number;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl ?? '';
    this.maxRetries = options.maxRetries ?? 3;
    this.maxRetryAfter = options.maxRetryAfterSeconds ?? 60;
    this.networkRetrySeconds = options.networkRetrySeconds ?? 2;
  }

  /** The same client with another token, and no onUnauthenticated: to try a token before keeping it. */
  withToken(token: string): ApiClient {
    return new ApiClient({ ...this.options, token: () => token, onUnauthenticated: undefined });
  }

  async request<T>(spec: RequestSpec): Promise<T> {
    const retries = isRetrySafe(spec) ? (spec.maxRetries ?? this.maxRetries) : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(spec);
      } catch (error) {
        const wait = this.waitSeconds(error);
        if (wait === undefined || attempt >= retries) throw error;
        spec.onRetry?.({ error: error as ApiError, seconds: wait, attempt: attempt + 1 });
        await this.options.sleep(wait * 1000);
      }
    }
  }

  /** Seconds to wait before a retry of what failed with `error`, or undefined when it is not worth retrying. */
  private waitSeconds(error: unknown): number | undefined {
    if (error instanceof RetryableError) return error.retryAfter <= this.maxRetryAfter ? error.retryAfter : undefined;
    if (error instanceof NetworkError) return this.networkRetrySeconds;
    return undefined;
  }

  private async once<T>(spec: RequestSpec): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (!spec.anonymous) {
      const token = this.options.token();
      if (!token) throw this.unauthenticated(new UnauthenticatedError('AUTH.UNAUTHENTICATED', 'no valid token'));
      headers.Authorization = `Bearer ${token}`;
    }
    if (spec.body !== undefined) headers['Content-Type'] = 'application/json';
    if (spec.idempotencyKey !== undefined) headers['Idempotency-Key'] = spec.idempotencyKey;

    let response: Response;
    try {
      response = await this.options.fetch(this.baseUrl + spec.path, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
      });
    } catch (cause) {
      throw new NetworkError(cause instanceof Error ? cause.message : String(cause));
    }

    const body = await readJson(response);
    if (response.ok) return body as T;
    const error = errorFromResponse(response.status, response.headers.get('Retry-After'), body, this.options.now());
    if (error instanceof UnauthenticatedError) throw this.unauthenticated(error);
    throw error;
  }

  private unauthenticated(error: UnauthenticatedError): UnauthenticatedError {
    this.options.onUnauthenticated?.(error);
    return error;
  }

  // The operations (see README.md "API" and services/gateway/src/openapi.ts).

  webConfig(call?: CallOptions): Promise<WebConfig> {
    return this.request({ ...call, method: 'GET', path: '/web-config.json', anonymous: true });
  }

  devSignIn(name: string, expiresInSeconds?: number, call?: CallOptions): Promise<DevSession> {
    return this.request({ ...call, method: 'POST', path: '/dev/sign-in', anonymous: true, body: { name, expiresInSeconds } });
  }

  catalogue(params: { cursor?: string; q?: string; limit?: number }, call?: CallOptions): Promise<CataloguePage> {
    const path = '/recipes' + query({ limit: params.limit ?? 20, cursor: params.cursor, q: params.q });
    return this.request({ ...call, method: 'GET', path });
  }

  recipe(recipeId: string, call?: CallOptions): Promise<Recipe> {
    return this.request({ ...call, method: 'GET', path: `/recipes/${recipePath(recipeId)}` });
  }

  /** 201 the first time, 200 (alreadyRecommended) for a repeat: repeating it is harmless, so it is retried. */
  recommend(recipeId: string, call?: CallOptions): Promise<Recommendation> {
    return this.request({ ...call, method: 'POST', path: `/recipes/${recipePath(recipeId)}/recommendations`, repeatable: true });
  }

  /** Pass the same `idempotencyKey` for every try of one submission. */
  register(recipe: NewRecipe, call: CallOptions & { idempotencyKey: string }): Promise<MyRecipe> {
    return this.request({ ...call, method: 'POST', path: '/myrecipes', body: recipe });
  }

  myRecipe(recipeId: string, call?: CallOptions): Promise<MyRecipe> {
    return this.request({ ...call, method: 'GET', path: `/myrecipes/${recipePath(recipeId)}` });
  }

  deleteMyRecipe(recipeId: string, call?: CallOptions): Promise<Deletion> {
    return this.request({ ...call, method: 'DELETE', path: `/myrecipes/${recipePath(recipeId)}` });
  }

  myPage(params: { cursor?: string; limit?: number }, call?: CallOptions): Promise<MyPage> {
    return this.request({ ...call, method: 'GET', path: '/mypages/me' + query({ limit: params.limit ?? 20, cursor: params.cursor }) });
  }

  profile(call?: CallOptions): Promise<Profile> {
    return this.request({ ...call, method: 'GET', path: '/members/me' });
  }

  setDisplayName(displayName: string, call?: CallOptions): Promise<Profile> {
    return this.request({ ...call, method: 'PUT', path: '/members/me', body: { displayName } });
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
