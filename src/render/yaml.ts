import { finiteOnly, reportContract } from './contract.js';
import type { Renderer } from './types.js';

/** YAML text of a value; js-yaml is loaded only when YAML is asked for (start-up time). */
export async function renderYaml(value: unknown): Promise<string> {
  const { default: yaml } = await import('js-yaml');
  return yaml.dump(finiteOnly(value), { noRefs: true, lineWidth: -1 });
}

const yamlRenderer: Renderer = { render: (report) => renderYaml(reportContract(report)) };
export default yamlRenderer;
