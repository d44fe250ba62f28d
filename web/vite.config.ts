import { defineConfig } from 'vite';

// The API is on the same origin as the page (the gateway serves web/dist at /).
// In development (`npm run dev -w web`) vite proxies the API to a running gateway.
const gateway = process.env.GATEWAY_URL ?? 'http://localhost:8080';
const apiPaths = ['/recipes', '/myrecipes', '/mypages', '/members', '/dev', '/web-config.json', '/healthz'];

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: Object.fromEntries(apiPaths.map((path) => [path, gateway])) },
});
