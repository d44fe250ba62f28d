import { call, type Reply } from './client.js';
import type { RunningService } from './dapr.js';

/** Talking to Dapr through a real sidecar, the way its app does (with the app's API token). */
export function viaSidecar(service: RunningService, apiToken: string) {
  const auth = { 'dapr-api-token': apiToken };
  return {
    invoke: <T = any>(
      appId: string,
      method: string,
      path: string,
      options: { member?: string; body?: unknown; headers?: Record<string, string> } = {},
    ): Promise<Reply<T>> =>
      call<T>(service.daprUrl, method, `/v1.0/invoke/${appId}/method/${path}`, {
        body: options.body,
        headers: { ...auth, ...(options.member ? { 'x-member-id': options.member } : {}), ...options.headers },
      }),
    /** Publishes as this sidecar's app; `id` sets the CloudEvent id. */
    publish: async (topic: string, data: unknown, id?: string) => {
      const res = await call(
        service.daprUrl,
        'POST',
        `/v1.0/publish/pubsub/${topic}${id ? `?metadata.cloudevent.id=${encodeURIComponent(id)}` : ''}`,
        { body: data, headers: auth },
      );
      if (res.status >= 300) throw new Error(`publish ${topic} as ${service.appId}: ${res.status} ${res.text}`);
      return res;
    },
    getState: <T = any>(store: string, key: string) =>
      call<T>(service.daprUrl, 'GET', `/v1.0/state/${store}/${encodeURIComponent(key)}`, { headers: auth }),
  };
}
