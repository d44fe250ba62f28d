/** A small HTTP client for tests: every call returns status, headers and parsed body. */
export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as-is (for malformed-input tests). */
  rawBody?: string;
}

export async function call<T = any>(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** A member's view of the gateway. */
export function memberClient(baseUrl: string, token: string) {
  return {
    get: <T = any>(path: string, options: CallOptions = {}) => call<T>(baseUrl, 'GET', path, { token, ...options }),
    post: <T = any>(path: string, body?: unknown, options: CallOptions = {}) => call<T>(baseUrl, 'POST', path, { token, body, ...options }),
    delete: <T = any>(path: string, options: CallOptions = {}) => call<T>(baseUrl, 'DELETE', path, { token, ...options }),
  };
}

export type MemberClient = ReturnType<typeof memberClient>;

export const sampleRecipe = (title = 'Kimchi stew') => ({
  title,
  ingredients: ['kimchi', 'pork belly', 'tofu'],
  steps: ['Fry the pork with the kimchi.', 'Add water and tofu, simmer 20 minutes.'],
});
