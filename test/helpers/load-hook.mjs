// Module resolve hook for test/startup.test.ts: prints each resolved module URL on stderr.
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  process.stderr.write(`LOADED ${resolved.url}\n`);
  return resolved;
}
