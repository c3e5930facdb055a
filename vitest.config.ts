import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: spawning CLIs and servers in parallel files beyond that only adds contention.
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
