import type { Context, Next } from 'koa';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one service, served on GET /metrics of its metrics port (see serve). */
export interface Metrics {
  registry: Registry;
  middleware: (ctx: Context, next: Next) => Promise<void>;
}

interface RouterLayer {
  path: string;
  methods: string[];
}

/**
 * The route pattern (/myrecipes/:recipeId), never the raw path: ids would
 * explode the series. Taken from the router's matched layers, which are known
 * even when a middleware (authentication) threw before the handler ran.
 */
function routeOf(ctx: Context): string {
  const routes = ((ctx as Context & { matched?: RouterLayer[] }).matched ?? []).filter((layer) => layer.methods.length > 0);
  return (routes.find((layer) => layer.methods.includes(ctx.method)) ?? routes[0])?.path ?? 'unmatched';
}

export function createMetrics(service: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route and status.',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route and status.',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const events = new Counter({
    name: 'events_handled_total',
    help: 'Pub/sub deliveries, by topic and reply: SUCCESS (handled), RETRY (failed, to retry), DROP (to the dead-letter topic).',
    labelNames: ['topic', 'result'] as const,
    registers: [registry],
  });

  return {
    registry,
    middleware: async (ctx, next) => {
      const end = duration.startTimer();
      try {
        await next();
      } finally {
        const labels = { method: ctx.method, route: routeOf(ctx), status: String(ctx.status) };
        requests.inc(labels);
        end(labels);
        const delivery = ctx.state.delivery as { topic: string; result: string } | undefined;
        if (delivery) events.inc(delivery);
      }
    },
  };
}
