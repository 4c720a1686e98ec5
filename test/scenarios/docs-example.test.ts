// The format reference's example and the README's are real scenario files: they load, and the
// README's runs with its expectations holding (a user starts from them).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executeScenario } from '../../src/scenarios/engine/execute.js';
import { loadScenarioFile } from '../../src/scenarios/file/load.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-docs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The first ```yaml block of a Markdown file, written where a user would save it. */
function yamlBlock(doc: string): string {
  const text = fs.readFileSync(doc, 'utf8');
  const m = /```yaml\n([\s\S]*?)```/.exec(text);
  if (!m) throw new Error(`${doc} has no yaml block`);
  const file = path.join(tmp, `${path.basename(doc, '.md')}.yaml`);
  fs.writeFileSync(file, m[1]);
  return file;
}

describe('documentation examples', () => {
  it('docs/scenario-format.md: the annotated example loads (every field it shows is valid)', () => {
    // The rules file it names, as a user would have it next to the scenario.
    fs.mkdirSync(path.join(tmp, 'rules'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'rules/my-node.txt'), '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
    const spec = loadScenarioFile(yamlBlock('docs/scenario-format.md'));
    expect(spec.processes.map((p) => p.kind).sort()).toEqual(['app', 'flood', 'inject', 'listener', 'proxy']);
    expect(spec.expectations.length).toBeGreaterThanOrEqual(9);
  });

  it("README: the example of 'Your own case' runs and its expectations hold", () => {
    const x = executeScenario(loadScenarioFile(yamlBlock('README.md')));
    expect(x.results.filter((r) => r.pass !== true)).toEqual([]);
  });
});
