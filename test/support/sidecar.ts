import { call, type Reply } from './client.js';
import type { RunningService } from './dapr.js';

/** Talking to an app through its own real sidecar, the way other services do. */
export function viaSidecar(service: RunningService) {
  return {
    invoke: <T = any>(appId: string, method: string, path: string, options: { member?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply<T>> =>
      call<T>(service.daprUrl, method, `/v1.0/invoke/${appId}/method/${path}`, {
        body: options.body,
        headers: { ...(options.member ? { 'x-member-id': options.member } : {}), ...options.headers },
      }),
    /** Publishes like a producer would; `id` sets the CloudEvent id. */
    publish: (topic: string, data: unknown, id?: string) =>
      call(service.daprUrl, 'POST', `/v1.0/publish/pubsub/${topic}${id ? `?metadata.cloudevent.id=${encodeURIComponent(id)}` : ''}`, { body: data }),
    getState: <T = any>(store: string, key: string) => call<T>(service.daprUrl, 'GET', `/v1.0/state/${store}/${encodeURIComponent(key)}`),
  };
}
