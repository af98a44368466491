import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Two cores: docker-heavy files would only fight each other.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default'],
    projects: [
      // Logic only: no root, no Docker, no set-up (`npx vitest run test/unit` on a laptop).
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // Against the real engine, ssh and git: the machine's set-up runs first.
      {
        extends: true,
        test: { name: 'engine', include: ['test/{integration,e2e,security}/**/*.test.ts'], globalSetup: ['test/helpers/global-setup.ts'] },
      },
    ],
  },
});
