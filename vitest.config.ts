import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Two cores: docker-heavy files would only fight each other.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default'],
  },
});
