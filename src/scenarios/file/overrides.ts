// Command-line overrides of a scenario file, applied to the parsed document before it is
// validated, so an overridden value is checked exactly like one written in the file:
//   --set PATH=VALUE   any field; PATH is dotted with [N] for list items and [KEY] for keys that
//                      contain dots (hosts.pod.sysctls[net.ipv4.tcp_fin_timeout]=30); a dotted
//                      sysctl name also works without brackets. VALUE is YAML (10s, 3, [a, b],
//                      {preset: istio-sidecar}).
//   --kernel K         every host's kernel profile
//   --sysctl [HOST:]NAME=VALUE   a sysctl on every host (or on HOST)
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { ScenarioFileError } from './errors.js';
import { pathText } from './locate.js';

export interface LoadOverrides {
  kernel?: string;
  sysctls?: readonly string[];
  /** "PATH=VALUE" items, applied in order. */
  set?: readonly string[];
}

type Segment = { key: string; bracket: boolean } | { index: number };

function bad(arg: string, detail: string): ScenarioFileError {
  return new ScenarioFileError('bad-override', '--set', 0, arg.split('=')[0], `${arg}: ${detail}`);
}

/** "a.b[0][x.y].c" -> segments. */
export function parsePath(path: string, arg = path): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  while (i < path.length) {
    if (path[i] === '[') {
      const end = path.indexOf(']', i);
      if (end < 0) throw bad(arg, `unclosed "[" in the path`);
      let inner = path.slice(i + 1, end).trim();
      if (/^\d+$/.test(inner)) out.push({ index: Number(inner) });
      else {
        if (/^(["']).*\1$/.test(inner)) inner = inner.slice(1, -1);
        if (inner === '') throw bad(arg, 'empty key in "[]"');
        out.push({ key: inner, bracket: true });
      }
      i = end + 1;
      if (path[i] === '.') i++;
      continue;
    }
    let j = i;
    while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
    const key = path.slice(i, j);
    if (key === '') throw bad(arg, 'empty path segment');
    out.push({ key, bracket: false });
    i = path[j] === '.' ? j + 1 : j;
  }
  if (out.length === 0) throw bad(arg, 'empty path');
  return out;
}

/** The document path the segments name, resolving dotted keys against the document's maps. */
function resolvePath(doc: Document, segs: Segment[], arg: string): Array<string | number> {
  const out: Array<string | number> = [];
  let i = 0;
  while (i < segs.length) {
    const node = doc.getIn(out, true);
    const s = segs[i];
    if ('index' in s) {
      if (!isSeq(node)) throw bad(arg, `${out.join('.') || 'the document'} is not a list`);
      if (s.index > node.items.length) throw bad(arg, `index ${s.index} is past the end of ${out.join('.')} (${node.items.length} items)`);
      out.push(s.index);
      i++;
      continue;
    }
    if (node !== undefined && node !== null && !isMap(node)) throw bad(arg, `${out.join('.') || 'the document'} is not a map`);
    if (!s.bracket && isMap(node)) {
      // The longest run of plain segments that is an existing key ("net.ipv4.tcp_fin_timeout").
      let taken = 0;
      for (let j = segs.length; j > i + 1 && !taken; j--) {
        const run = segs.slice(i, j);
        if (run.some((r) => !('key' in r) || r.bracket)) continue;
        const key = run.map((r) => (r as { key: string }).key).join('.');
        if (node.has(key)) {
          out.push(key);
          taken = j - i;
        }
      }
      if (taken) {
        i += taken;
        continue;
      }
      // A new sysctl: the rest of the path is its name.
      if (out.at(-1) === 'sysctls' && segs.slice(i).every((r) => 'key' in r && !r.bracket)) {
        out.push(segs.slice(i).map((r) => (r as { key: string }).key).join('.'));
        return out;
      }
    }
    out.push(s.key);
    i++;
  }
  return out;
}

/** Applies --set/--kernel/--sysctl to the parsed (not yet validated) document; returns each changed field with the argument that changed it. */
export function applyOverrides(doc: Document, o: LoadOverrides): Array<{ field: string; arg: string }> {
  const changed: Array<{ field: string; arg: string }> = [];
  const hosts = doc.get('hosts', true);
  const hostNames = isMap(hosts) ? hosts.items.map((it) => String((it.key as { value?: unknown }).value ?? it.key)) : [];
  if (o.kernel !== undefined) {
    doc.set('kernel', o.kernel);
    changed.push({ field: 'kernel', arg: `--kernel ${o.kernel}` });
    for (const h of hostNames) {
      if (!doc.hasIn(['hosts', h, 'kernel'])) continue;
      doc.setIn(['hosts', h, 'kernel'], o.kernel);
      changed.push({ field: `hosts.${h}.kernel`, arg: `--kernel ${o.kernel}` });
    }
  }
  for (const item of o.sysctls ?? []) {
    const m = /^(?:([A-Za-z][A-Za-z0-9_-]*):)?([a-z0-9_.]+)=(.*)$/.exec(item.trim());
    if (!m) throw new ScenarioFileError('bad-override', '--sysctl', 0, item, `${item}: expected [HOST:]NAME=VALUE`);
    const [, host, name, value] = m;
    if (host !== undefined && !hostNames.includes(host)) throw new ScenarioFileError('bad-override', '--sysctl', 0, item, `${item}: no host "${host}" (hosts: ${hostNames.join(', ')})`);
    const full = name.startsWith('net.') ? name : `net.netfilter.${name}`;
    const num = Number(value);
    for (const h of host ? [host] : hostNames) {
      doc.setIn(['hosts', h, 'sysctls', full], value.trim() !== '' && Number.isFinite(num) ? num : value);
      changed.push({ field: `hosts.${h}.sysctls`, arg: `--sysctl ${item}` });
    }
  }
  for (const arg of o.set ?? []) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw bad(arg, 'expected PATH=VALUE');
    const path = resolvePath(doc, parsePath(arg.slice(0, eq), arg), arg);
    const value = parseDocument(arg.slice(eq + 1));
    if (value.errors.length) throw bad(arg, `the value is not YAML: ${value.errors[0].message.split('\n')[0]}`);
    doc.setIn(path, doc.createNode(value.toJS()));
    changed.push({ field: pathText(path), arg: `--set ${arg}` });
  }
  return changed;
}
