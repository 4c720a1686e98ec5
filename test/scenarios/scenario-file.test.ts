// The scenario file loader: the shipped seed incidents load into the expected spec, and every
// kind of bad input is a ScenarioFileError with the right kind, file and line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioFileError } from '../../src/scenarios/file/errors.js';
import { loadScenarioFile, loadScenarioText } from '../../src/scenarios/file/load.js';
import { testTempDir } from '../support/temp-dir.js';

const ROOT = join(import.meta.dirname, '..', '..');

const BASE = `ctsim: 1
name: t
duration: 10s
hosts:
  a:
    interfaces:
      eth0: {address: 198.18.1.10/24}
  b:
    interfaces:
      eth0: {address: 198.18.1.20/24}
links:
  - {between: [a/eth0, b/eth0], delay: 1ms}
processes:
  srv:
    kind: listener
    host: b
    port: 80
  app:
    kind: app
    host: a
    uid: 1000
    timeline:
      - connect: {socket: s, to: 198.18.1.20:80}
      - at: 2s
        close: s
`;

function err(text: string, file = 'case.yaml'): ScenarioFileError {
  try {
    loadScenarioText(text, file);
  } catch (e) {
    if (e instanceof ScenarioFileError) return e;
    throw e;
  }
  throw new Error('loaded without error');
}

/** BASE with `from` replaced by `to` (the replaced text must exist). */
function edit(from: string, to: string): string {
  expect(BASE).toContain(from);
  return BASE.replace(from, to);
}

describe('shipped scenarios', () => {
  it('half-close-leak and port-collision load: the Istio pod, the sidecar, the timeline, the expectations', () => {
    const h = loadScenarioFile(join(ROOT, 'scenarios', 'half-close-leak.yaml'));
    expect(h.hosts.map((x) => x.name)).toEqual(['pod', 'upstream']);
    expect(h.hosts[0].rules[0].text).toContain('-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001');
    expect(h.processes.find((p) => p.name === 'sidecar')).toMatchObject({ kind: 'proxy', uid: 1337, listenPort: 15001, upstream: 'original-destination', idleTimeoutNs: 3600e9, halfClose: 'shutdown-wr' });
    expect(h.durationNs).toBe(3720e9);
    expect(h.expectations).toEqual([
      { kind: 'fin', process: 'app', reaches: null },
      { kind: 'leak', process: 'sidecar', state: 'FIN_WAIT2', op: '>=', seconds: 3000 },
    ]);
    const p = loadScenarioFile(join(ROOT, 'scenarios', 'port-collision.yaml'));
    expect(p.expectations[0]).toEqual({ kind: 'connect', process: 'app', result: 'connected', op: '<=', seconds: 1 });
    expect(p.links[0]).toEqual({ a: { host: 'pod', iface: 'eth0' }, b: { host: 'upstream', iface: 'eth0' }, delayNs: 100_000, jitterNs: 0, loss: 0 });
  });

  it('every INVALID-drop placement loads next to the Istio rules', () => {
    for (const extra of ['{preset: istio-invalid-drop}', 'rules/invalid-drop-filter-output.rules', 'rules/invalid-drop-filter-input.rules', 'rules/invalid-drop-raw.rules']) {
      const text = BASE.replace('  b:\n', `    rules: [{preset: istio-sidecar}, ${extra}]\n  b:\n`).replace('processes:\n', 'processes:\n  proxy: {kind: proxy, host: a, uid: 1337, listen: 15001, upstream: original-destination}\n');
      const spec = loadScenarioText(text, join(ROOT, 'scenarios', 'x.yaml'));
      expect(spec.hosts[0].rules).toHaveLength(2);
    }
  });

  it('JSON is accepted too', () => {
    const spec = loadScenarioText(JSON.stringify({ ctsim: 1, name: 'j', duration: 5, hosts: { a: { interfaces: { eth0: { address: '198.18.0.1/24' } } } } }), 'j.json');
    expect(spec.durationNs).toBe(5e9);
    expect(spec.captures).toEqual([{ host: 'a', iface: '*' }]);
  });
});

describe('every error kind names the file and line', () => {
  it('read: a missing file', () => {
    expect(() => loadScenarioFile('/nonexistent/x.yaml')).toThrow(ScenarioFileError);
  });

  it('yaml: malformed YAML, duplicate keys', () => {
    // yaml reports an unclosed flow sequence where the input ends.
    expect(err('ctsim: 1\nname: [unclosed\n')).toMatchObject({ kind: 'yaml', file: 'case.yaml', line: 3 });
    expect(err('ctsim: 1\nname: a\nname: b\n')).toMatchObject({ kind: 'yaml', line: 3 });
  });

  it('unknown-field: at the key, deep inside a timeline step too', () => {
    expect(err(edit('duration: 10s', 'duration: 10s\ncolour: red'))).toMatchObject({ kind: 'unknown-field', line: 4, field: 'colour' });
    expect(err(edit('    port: 80', '    port: 80\n    backlog: 5'))).toMatchObject({ kind: 'unknown-field', line: 18, field: 'processes.srv.backlog' });
    expect(err(edit('{socket: s, to: 198.18.1.20:80}', '{socket: s, to: 198.18.1.20:80, tos: 4}'))).toMatchObject({ kind: 'unknown-field', line: 23, field: 'processes.app.timeline[0].connect.tos' });
  });

  it('missing-field and bad-value', () => {
    expect(err(edit('duration: 10s\n', ''))).toMatchObject({ kind: 'missing-field', line: 1, field: 'duration' });
    expect(err(edit('duration: 10s', 'duration: soon'))).toMatchObject({ kind: 'bad-value', line: 3, field: 'duration' });
    expect(err(edit('198.18.1.20/24', '198.18.1.300/24'))).toMatchObject({ kind: 'bad-value', line: 10, field: 'hosts.b.interfaces.eth0.address' });
    expect(err(edit('port: 80', 'port: 70000'))).toMatchObject({ kind: 'bad-value', line: 17, field: 'processes.srv.port' });
  });

  it('a value of the wrong type is a bad value, not a missing field', () => {
    expect(err(edit('name: t', 'name: 5'))).toMatchObject({ kind: 'bad-value', line: 2, field: 'name' });
    expect(err(edit('    port: 80', '    port: "eighty"'))).toMatchObject({ kind: 'bad-value', line: 17, field: 'processes.srv.port' });
  });

  it('an error in a value an override put there names the override', () => {
    const withSet = (set: string): ScenarioFileError => {
      try {
        loadScenarioText(BASE, 'case.yaml', { set: [set] });
      } catch (e) {
        if (e instanceof ScenarioFileError) return e;
        throw e;
      }
      throw new Error('loaded without error');
    };
    expect(withSet('duration=-5s')).toMatchObject({ kind: 'bad-value', field: 'duration' });
    expect(withSet('duration=-5s').message).toContain('(value from --set duration=-5s)');
    // The unknown key is the first new segment of a longer path.
    expect(withSet('colour.shade=red')).toMatchObject({ kind: 'unknown-field', field: 'colour' });
    expect(withSet('colour.shade=red').message).toContain('(value from --set colour.shade=red)');
  });

  it('the format version: missing, or one this ctsim does not read', () => {
    expect(err(edit('ctsim: 1\n', ''))).toMatchObject({ kind: 'missing-field', field: 'ctsim' });
    const e = err(edit('ctsim: 1', 'ctsim: 2'));
    expect(e).toMatchObject({ kind: 'bad-value', line: 1, field: 'ctsim' });
    expect(e.message).toContain('this ctsim reads version 1');
  });

  it('unsupported-rule: in a rules file, with the rules file and its line', () => {
    const dir = testTempDir('ctsim-scn-');
    writeFileSync(join(dir, 'bad.rules'), '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m recent --set -j DROP\nCOMMIT\n');
    const e = err(edit('  b:\n', '    rules: bad.rules\n  b:\n'), join(dir, 'case.yaml'));
    expect(e).toMatchObject({ kind: 'unsupported-rule', file: join(dir, 'bad.rules'), line: 3 });
    expect(e.message).toContain('unsupported match "-m recent"');
  });

  it('unsupported-rule: inline rules point into the scenario file', () => {
    const e = err(edit('  b:\n', '    rules:\n      inline: |\n        *nat\n        -A POSTROUTING -j CONNMARK --save-mark\n        COMMIT\n  b:\n'));
    expect(e).toMatchObject({ kind: 'unsupported-rule', file: 'case.yaml', line: 11 });
  });

  it('read: a rules file that does not exist', () => {
    expect(err(edit('  b:\n', '    rules: nowhere.rules\n  b:\n'))).toMatchObject({ kind: 'read', line: 8, field: 'hosts.a.rules' });
  });

  it('bad-kernel and bad-sysctl', () => {
    expect(err(edit('duration: 10s', 'duration: 10s\nkernel: "2.6"'))).toMatchObject({ kind: 'bad-kernel', line: 4 });
    expect(err(edit('  b:\n', '    sysctls: {net.netfilter.nf_conntrack_tcp_timeout_bogus: 5}\n  b:\n'))).toMatchObject({ kind: 'bad-sysctl', line: 8 });
  });

  it('unknown-host and unknown-interface', () => {
    expect(err(edit('[a/eth0, b/eth0]', '[a/eth0, c/eth0]'))).toMatchObject({ kind: 'unknown-host', line: 12, field: 'links[0].between[1]' });
    expect(err(edit('[a/eth0, b/eth0]', '[a/eth1, b/eth0]'))).toMatchObject({ kind: 'unknown-interface', line: 12, field: 'links[0].between[0]' });
    expect(err(edit('    host: b', '    host: z'))).toMatchObject({ kind: 'unknown-host', line: 16, field: 'processes.srv.host' });
  });

  it('unknown-process and bad-expectation', () => {
    expect(err(`${BASE}expect:\n  - {ghost: connect ETIMEDOUT}\n`)).toMatchObject({ kind: 'unknown-process', line: 27 });
    expect(err(`${BASE}expect:\n  - {app: connects quickly}\n`)).toMatchObject({ kind: 'bad-expectation', line: 27 });
    expect(err(`${BASE}expect:\n  - {app: connect EAGAIN}\n`)).toMatchObject({ kind: 'bad-expectation', line: 27 });
  });

  it('unknown-socket: a close of a socket nothing created', () => {
    expect(err(edit('        close: s', '        close: t'))).toMatchObject({ kind: 'unknown-socket', line: 25, field: 'processes.app.timeline[1].close' });
  });

  it('address-on-no-host: a connect target nobody has and nothing NATs; a gateway on no host', () => {
    expect(err(edit('to: 198.18.1.20:80', 'to: 198.18.9.9:80'))).toMatchObject({ kind: 'address-on-no-host', line: 23 });
    expect(err(edit('  b:\n', '    routes: [{to: default, dev: eth0, via: 198.18.1.99}]\n  b:\n'))).toMatchObject({ kind: 'address-on-no-host', line: 8 });
  });

  it('duplicate-address', () => {
    expect(err(edit('198.18.1.20/24', '198.18.1.10/24'))).toMatchObject({ kind: 'duplicate-address', line: 10 });
  });

  it('route-loop: two forwarding routers pointing at each other', () => {
    const text = `ctsim: 1
name: loop
duration: 1s
hosts:
  r1:
    forwarding: true
    interfaces: {eth0: {address: 198.18.5.1/24}}
    routes: [{to: 198.18.9.0/24, dev: eth0, via: 198.18.5.2}]
  r2:
    forwarding: true
    interfaces: {eth0: {address: 198.18.5.2/24}}
    routes: [{to: 198.18.9.0/24, dev: eth0, via: 198.18.5.1}]
  far:
    interfaces: {eth0: {address: 198.18.9.9/24}}
links:
  - {between: [r1/eth0, r2/eth0]}
`;
    expect(err(text)).toMatchObject({ kind: 'route-loop' });
    expect(err(text).line).toBeGreaterThanOrEqual(8);
  });

  it('timeline-backwards: an "at" before where the steps already are', () => {
    expect(err(edit('      - at: 2s\n', '      - sleep: 5s\n      - at: 2s\n'))).toMatchObject({ kind: 'timeline-backwards', line: 25 });
  });

  it('uid-owns-nothing: an --uid-owner no process on the host runs as, at the rules line', () => {
    const e = err(edit('  b:\n', '    rules: [{preset: istio-sidecar}]\n  b:\n'));
    expect(e.kind).toBe('uid-owns-nothing');
    expect(e.file).toMatch(/istio-sidecar\.rules$/);
    expect(e.message).toContain('--uid-owner 1337');
    expect(e.line).toBeGreaterThan(10);
  });
});
