// Runs the real Wireshark dissector (tshark 4.0, capinfos) on capture files, so tests check
// our bytes against an independent implementation. `npm test` installs tshark when it can
// (scripts/ensure-test-tools.sh); where it cannot, a test that needs it is skipped with the reason.
import { spawnSync } from 'node:child_process';
import { missingPrograms, skipTest } from './prerequisites.js';

export interface TsharkOptions {
  /** Display filter (-Y). */
  filter?: string;
  /** Preference overrides, each "name:value" (-o). */
  prefs?: string[];
}

/** Per-file problem counts; every count is of occurrences except `malformed` (frames). */
export interface TsharkProblems {
  frames: number;
  /** Frames carrying a _ws.malformed item (dissector exception). */
  malformed: number;
  /** ip.checksum.status == 0: in tshark 4.0 the value_string is 0 Bad, 1 Good, 2 Unverified. */
  badIpChecksum: number;
  /** tcp.checksum.status == 0 (same encoding as ip). */
  badTcpChecksum: number;
  /** Expert items of severity Error (_ws.expert.severity 0x00800000 = 8388608). */
  expertErrors: number;
  /** "frame N: message" for every expert Error, to make failures readable. */
  errorMessages: string[];
}

/** One interface as capinfos reports it ("Interface #N info:" block). */
export interface TsharkInterface {
  name?: string;
  description?: string;
  /** e.g. "Raw IP (7 - rawip)", "Ethernet (1 - ether)". */
  encapsulation?: string;
  snaplen?: number;
  packets?: number;
}

const EXPERT_SEVERITY_ERROR = '8388608';
const CHECKSUM_STATUS_BAD = '0';
// A separator that cannot occur in field values, so multi-valued fields split safely.
const UNIT_SEPARATOR = '\u001f';

/** Runs a Wireshark command-line tool and returns its stdout; throws with stderr on failure. */
function runTool(tool: 'tshark' | 'capinfos', args: string[]): string {
  const result = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') skipTest(missingPrograms([tool]) ?? `${tool} could not be started`);
    throw result.error;
  }
  if (result.status !== 0) {
    throw new Error(`${tool} ${args.join(' ')} exited with ${result.status}:\n${result.stderr}`);
  }
  return result.stdout;
}

function commonArgs(path: string, opts: TsharkOptions = {}): string[] {
  const args = ['-r', path, '-n']; // -n: no name resolution, fast and deterministic
  for (const pref of opts.prefs ?? []) args.push('-o', pref);
  if (opts.filter !== undefined) args.push('-Y', opts.filter);
  return args;
}

function fieldRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split('\t'));
}

/** One row per frame, one cell per field; multiple occurrences of a field are joined by ",". */
export function tsharkFields(path: string, fields: string[], opts?: TsharkOptions): string[][] {
  const args = [...commonArgs(path, opts), '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of fields) args.push('-e', f);
  return fieldRows(runTool('tshark', args));
}

/** The full dissection as tshark's `-T json` array (packet._source.layers.<proto>.<field>: string). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tree's shape depends on the protocols
export function tsharkJson(path: string, opts?: TsharkOptions): any[] {
  return JSON.parse(runTool('tshark', [...commonArgs(path, opts), '-T', 'json']));
}

/** Counts malformed frames, bad IPv4/TCP checksums (validation switched on) and expert errors. */
export function tsharkProblems(path: string, opts: TsharkOptions = {}): TsharkProblems {
  const prefs = ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE', ...(opts.prefs ?? [])];
  const fields = ['frame.number', '_ws.malformed', 'ip.checksum.status', 'tcp.checksum.status', '_ws.expert.severity', '_ws.expert.message'];
  const args = [
    ...commonArgs(path, { ...opts, prefs }),
    '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', `aggregator=${UNIT_SEPARATOR}`,
  ];
  for (const f of fields) args.push('-e', f);
  const problems: TsharkProblems = { frames: 0, malformed: 0, badIpChecksum: 0, badTcpChecksum: 0, expertErrors: 0, errorMessages: [] };
  const values = (cell: string | undefined) => (cell ? cell.split(UNIT_SEPARATOR) : []);
  for (const [frame, malformed, ipStatus, tcpStatus, severities, messages] of fieldRows(runTool('tshark', args))) {
    problems.frames++;
    if (malformed) problems.malformed++;
    problems.badIpChecksum += values(ipStatus).filter((s) => s === CHECKSUM_STATUS_BAD).length;
    problems.badTcpChecksum += values(tcpStatus).filter((s) => s === CHECKSUM_STATUS_BAD).length;
    const texts = values(messages);
    values(severities).forEach((severity, i) => {
      if (severity !== EXPERT_SEVERITY_ERROR) return;
      problems.expertErrors++;
      problems.errorMessages.push(`frame ${frame}: ${texts[i] ?? '?'}`);
    });
  }
  return problems;
}

/** The file's interfaces (all IDBs, even those without packets) as listed by `capinfos -I`. */
export function tsharkInterfaces(path: string): TsharkInterface[] {
  const interfaces: TsharkInterface[] = [];
  let current: TsharkInterface | undefined;
  for (const line of runTool('capinfos', ['-I', '-M', path]).split('\n')) {
    if (/^Interface #\d+ info:/.test(line)) {
      current = {};
      interfaces.push(current);
      continue;
    }
    const m = /^\s+([^=]+?) = (.*)$/.exec(line);
    if (!current || !m) continue;
    const [, key, value] = m;
    if (key === 'Name') current.name = value;
    else if (key === 'Description') current.description = value;
    else if (key === 'Encapsulation') current.encapsulation = value;
    else if (key === 'Capture length') current.snaplen = Number(value);
    else if (key === 'Number of packets') current.packets = Number(value);
  }
  return interfaces;
}
