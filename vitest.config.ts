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
        test: {
          name: 'engine',
          include: ['test/{integration,e2e,security}/**/*.test.ts'],
          exclude: ['test/e2e/fleet.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
      // The two-engine fleet, after everything else: while a second node is in the swarm, other files'
      // services (of images only this host has) could be placed on it.
      {
        extends: true,
        test: { name: 'fleet', include: ['test/e2e/fleet.test.ts'], globalSetup: ['test/helpers/global-setup.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
