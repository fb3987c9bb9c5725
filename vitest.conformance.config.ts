import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run conformance` (test/conformance/run.js): the suites that need the original tool's
// reference files, which `npm test` never reads. Same settings, the other set of files.
export default defineConfig({ test: { ...base.test, include: ['test/conformance/**/*.test.ts'], exclude: configDefaults.exclude } });
