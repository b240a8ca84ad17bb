// Builds the dashboard into dashboard/dist, which `holdfast serve` serves at `/`.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: the app works wherever the API serves it.
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `vite --config dashboard/vite.config.ts` during development: the API is a local `holdfast serve`.
    proxy: { '/apis': process.env.HOLDFAST_API ?? 'http://127.0.0.1:7433' },
  },
});
