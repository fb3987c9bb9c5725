import yaml from 'js-yaml';
import { finiteOnly } from './contract.js';

export function renderYaml(value: unknown): string {
  return yaml.dump(finiteOnly(value), { noRefs: true, lineWidth: -1 });
}
