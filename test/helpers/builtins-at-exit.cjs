// Preloaded with --require: at exit, writes the Node builtins the process loaded to stderr,
// one `BUILTIN name` line each (test/startup.test.ts).
const { writeSync } = require('node:fs');

process.on('exit', () => {
  const names = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => `BUILTIN ${m.slice(13)}`);
  writeSync(2, `${names.join('\n')}\n`);
});
