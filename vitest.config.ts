import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // test/conformance/ needs the original tool's files (../shared): `npm run conformance`.
    exclude: [...configDefaults.exclude, 'test/conformance/**'],
    // Several suites spawn the CLI or stream tens of MB; on a loaded 2-core CI machine the
    // default 5 s is a measure of the machine, not of the code (speed lives in bench/).
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
