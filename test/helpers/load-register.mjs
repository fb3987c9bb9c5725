import { register } from 'node:module';

register(new URL('./load-hook.mjs', import.meta.url));
