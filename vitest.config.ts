import { defineConfig } from 'vitest/config';

// CI runs on 2 cores with test files in parallel: timeouts guard against hangs, not speed
// (speed is measured by `npm run bench`, never in tests).
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    include: ['test/**/*.test.ts'],
  },
});
