// Reading a suite back, and an implementation's verdict file against it: every line must
// validate against the schema, name a case of the suite and a packet it has, and every packet
// must have exactly one line. Problems are SuiteFormatErrors that say which line and why.
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { readCaptureBytes } from '../pcap/index.js';
import { SuiteFormatError } from './errors.js';
import type { SuiteCase } from './suite-case.js';
import { CASES_DIR, EXPECTED, MANIFEST, sha256, type Manifest } from './suite-files.js';
import { SUITE_FORMAT, type VerdictLine } from './verdict-line.js';
import { VERDICT_LINE_SCHEMA } from './verdict-schema.js';

let validator: ((x: unknown) => boolean) & { errors?: ErrorObject[] | null } | null = null;

/** The schema's validator (ajv, compiled once). */
export function verdictValidator(): ((x: unknown) => boolean) & { errors?: ErrorObject[] | null } {
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(VERDICT_LINE_SCHEMA);
  return validator;
}

function errorsText(errs: ErrorObject[] | null | undefined): string {
  return (errs ?? []).slice(0, 3).map((e) => `${e.instancePath || '(line)'} ${e.message}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`).join('; ');
}

export interface Suite {
  dir: string;
  manifest: Manifest;
  /** Case id -> its index in manifest.cases. */
  index: Map<string, number>;
}

export function loadSuite(dir: string): Suite {
  const mpath = path.join(dir, MANIFEST);
  if (!fs.existsSync(mpath)) throw new SuiteFormatError(`${dir} is not a conformance suite: no ${MANIFEST} (make one with ctsim conformance export)`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(mpath, 'utf8')) as Manifest;
  } catch (e) {
    throw new SuiteFormatError(`${mpath}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (manifest.format !== SUITE_FORMAT) throw new SuiteFormatError(`${mpath}: format ${JSON.stringify(manifest.format)}, this ctsim reads ${SUITE_FORMAT}`);
  if (!Array.isArray(manifest.cases)) throw new SuiteFormatError(`${mpath}: no cases list`);
  const index = new Map<string, number>();
  manifest.cases.forEach((c, i) => index.set(c.id, i));
  return { dir, manifest, index };
}

/** One case's packets from its pcap (checked against the manifest's digest). */
export function loadCase(s: Suite, id: string): SuiteCase {
  const i = s.index.get(id);
  if (i === undefined) throw new SuiteFormatError(`no case ${id} in ${s.dir}`);
  const m = s.manifest.cases[i];
  const bytes = fs.readFileSync(path.join(s.dir, CASES_DIR, `${id}.pcap`));
  if (sha256(bytes) !== m.sha256) throw new SuiteFormatError(`${CASES_DIR}/${id}.pcap does not match the manifest's sha256: the suite was changed after export`);
  const recs = [...readCaptureBytes(bytes)];
  const t0 = recs.length ? recs[0].timestampNs : 0n;
  return { id, origin: m.origin, nat: m.nat, description: m.description, packets: recs.map((r) => ({ timeNs: Number(r.timestampNs - t0), bytes: r.data })) };
}

/** Verdict lines per case, each case's array indexed by n - 1 (every slot filled). */
export type VerdictTable = Map<string, VerdictLine[]>;

/**
 * Reads a verdict file (JSON Lines) for the suite. Every line is validated against the schema;
 * the file must have exactly one line per packet of every case (any order).
 */
export function readVerdicts(s: Suite, file: string, what = 'verdict file'): VerdictTable {
  const text = fs.readFileSync(file, 'utf8');
  const validate = verdictValidator();
  const table: VerdictTable = new Map(s.manifest.cases.map((c) => [c.id, new Array<VerdictLine>(c.packets)]));
  const problems: string[] = [];
  const problem = (lineNo: number, msg: string) => {
    if (problems.length < 10) problems.push(`${path.basename(file)}:${lineNo}: ${msg}`);
    else if (problems.length === 10) problems.push('...');
  };
  let lineNo = 0;
  let count = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    if (raw.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      problem(lineNo, 'not a JSON object');
      continue;
    }
    if (!validate(obj)) {
      problem(lineNo, `does not match verdict.schema.json: ${errorsText(validate.errors)}`);
      continue;
    }
    const l = obj as VerdictLine;
    const slots = table.get(l.case);
    if (!slots) {
      problem(lineNo, `case ${JSON.stringify(l.case)} is not in the suite`);
      continue;
    }
    if (l.n > slots.length) {
      problem(lineNo, `case ${l.case} has ${slots.length} packets, not ${l.n}`);
      continue;
    }
    if (slots[l.n - 1] !== undefined) {
      problem(lineNo, `a second line for case ${l.case} packet ${l.n}`);
      continue;
    }
    slots[l.n - 1] = l;
    count++;
  }
  if (problems.length === 0 && count !== s.manifest.packets) {
    const missing: string[] = [];
    for (const [id, slots] of table) {
      for (let i = 0; i < slots.length && missing.length < 5; i++) if (slots[i] === undefined) missing.push(`${id} #${i + 1}`);
    }
    problems.push(`${count} lines for ${s.manifest.packets} packets: missing ${missing.join(', ')}${s.manifest.packets - count > missing.length ? ', ...' : ''}`);
  }
  if (problems.length) throw new SuiteFormatError(`${what} ${file} does not fit the suite in ${s.dir}:\n  ${problems.join('\n  ')}`);
  return table;
}

export function readExpected(s: Suite): VerdictTable {
  return readVerdicts(s, path.join(s.dir, EXPECTED), 'expected file');
}
