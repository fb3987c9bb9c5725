import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run conformance` (test/conformance/run.js): the suites that need the original tool's
// reference files, which `npm test` never reads.
export default mergeConfig(base, defineConfig({ test: { include: ['test/conformance/**/*.test.ts'], exclude: [] } }));
