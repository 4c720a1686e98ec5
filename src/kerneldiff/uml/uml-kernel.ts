// Which user-mode-linux kernel a guest boots: Debian's packaged one (user-mode-linux: a real
// 6.1.y kernel as a program, its netfilter parts as modules under /usr/lib/uml/modules/<release>)
// or a binary scripts/build-uml-kernel.sh built (everything built in; build.json beside it says
// from which source and which vendor deviations were neutralised). Problems are UmlErrors that
// name what is missing and how to get it.
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Why a guest could not run, when it is a known incompatibility rather than a broken kernel:
 * `host-fp-size`: the kernel keeps the host's XSAVE registers in a fixed buffer smaller than this
 * CPU's (UML before 6.13 on AMX hosts: PTRACE_SETREGSET fails, every guest program dies).
 */
export type UmlFailure = 'host-fp-size';

/** The console line with which UML reports that the host refused a guest program's FP registers (host-fp-size). */
export const HOST_FP_REFUSED = 'ptrace set fp regs failed, errno = 14';

export class UmlError extends Error {
  override readonly name = 'UmlError';
  readonly kind = 'uml';
  constructor(message: string, readonly failure?: UmlFailure) {
    super(message);
  }
}

export const PACKAGED_UML = '/usr/bin/linux.uml';
export const PACKAGED_MODULES = '/usr/lib/uml/modules';
export const INSTALL_HINT = 'apt-get install -y user-mode-linux';

/** A vendor deviation the builder found in the source and neutralised (build.json). */
export interface NeutralisedDeviation {
  id: string;
  file: string;
  what: string;
  neutralised: string;
}

/** What scripts/build-uml-kernel.sh wrote next to the binary. */
export interface UmlBuildInfo {
  release: string;
  source: string;
  builtAt: string;
  buildSeconds: number;
  jobs: number;
  compiler: string;
  deviations: NeutralisedDeviation[];
}

export interface UmlKernel {
  /** The binary to run. */
  path: string;
  /** Debian's user-mode-linux package, or a built binary. */
  packaged: boolean;
  /** Modules folder (…/modules/<release>) for the packaged kernel; built kernels have everything built in. */
  modulesDir: string | null;
  /** Where the kernel came from (recorded with every result). */
  provenance: string;
  build: UmlBuildInfo | null;
}

/** The packaged kernel's release, from its modules folder (one per installed version). */
function packagedModules(): string | null {
  if (!existsSync(PACKAGED_MODULES)) return null;
  const releases = readdirSync(PACKAGED_MODULES).filter((d) => existsSync(join(PACKAGED_MODULES, d, 'modules.dep')));
  return releases.length ? join(PACKAGED_MODULES, releases.sort().at(-1)!) : null;
}

function packagedVersion(): string {
  try {
    const status = readFileSync('/var/lib/dpkg/status', 'utf8');
    const m = /Package: user-mode-linux\n(?:[^\n]+\n)*?Version: (\S+)/.exec(status);
    return m ? m[1] : 'unknown version';
  } catch {
    return 'unknown version';
  }
}

/**
 * Resolves `--uml [KERNEL]`: nothing (or "packaged") means Debian's linux.uml; otherwise a path to
 * a UML kernel binary, or to the folder scripts/build-uml-kernel.sh made (holding `linux`).
 */
export function resolveUmlKernel(arg?: string): UmlKernel {
  if (arg === undefined || arg === '' || arg === 'packaged') {
    if (!existsSync(PACKAGED_UML)) throw new UmlError(`${PACKAGED_UML} not found: the default guest is Debian's user-mode-linux package (${INSTALL_HINT}), or give --uml PATH to a UML kernel built with scripts/build-uml-kernel.sh`);
    const modulesDir = packagedModules();
    if (!modulesDir) throw new UmlError(`${PACKAGED_UML} is there but ${PACKAGED_MODULES}/<release>/modules.dep is not: reinstall the package (apt-get install --reinstall -y user-mode-linux)`);
    return { path: PACKAGED_UML, packaged: true, modulesDir, provenance: `Debian user-mode-linux ${packagedVersion()} (${PACKAGED_UML})`, build: null };
  }
  let path = resolve(arg);
  if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'linux');
  if (!existsSync(path)) throw new UmlError(`UML kernel ${path} not found: build one with scripts/build-uml-kernel.sh SOURCE (e.g. 6.12 for Debian's linux-source-6.12), or omit the path to use Debian's packaged kernel (${INSTALL_HINT})`);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new UmlError(`UML kernel ${path} is not executable`);
  }
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1') !== '\x7fELF') throw new UmlError(`${path} is not a UML kernel binary (not an ELF executable; give the 'linux' file make ARCH=um produced)`);
  let build: UmlBuildInfo | null = null;
  const info = join(dirname(path), 'build.json');
  if (existsSync(info)) {
    try {
      build = JSON.parse(readFileSync(info, 'utf8')) as UmlBuildInfo;
    } catch (e) {
      throw new UmlError(`${info}: not valid JSON (${(e as Error).message})`);
    }
  }
  const provenance = build ? `${path}, built ${build.builtAt} from ${build.source}${build.deviations.length ? `; neutralised: ${build.deviations.map((d) => d.id).join(', ')}` : ''}` : `${path} (no build.json: source unknown)`;
  return { path, packaged: false, modulesDir: null, provenance, build };
}
