/**
 * Builds the dashboard into dist/ui/, served by the API server at /tasker/ui/. `npm run build` runs this.
 * For development, `npx vite --config web/vite.config.ts` serves the app and forwards API calls to
 * TASKER_API_URL (default http://127.0.0.1:3000).
 */
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/tasker/ui/',
  plugins: [preact()],
  logLevel: 'warn',
  build: {
    outDir: here('../dist/ui'),
    emptyOutDir: true,
    // Everything is bundled: the page makes no request to anything but its own server.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: { '^/tasker/(?!ui)': process.env.TASKER_API_URL ?? 'http://127.0.0.1:3000' },
  },
});
