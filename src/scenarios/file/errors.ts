// Everything wrong with a scenario file is one typed error: what kind, the file and 1-based line
// it points at, the field path inside the document, and a message for people. The CLI prints
// `file:line: field: message` and exits 2; tests assert kind, file and line.

export type ScenarioFileErrorKind =
  | 'read' // the file (or a rules file it names) cannot be read
  | 'yaml' // malformed YAML/JSON
  | 'unknown-field' // a field the format does not have
  | 'missing-field' // a required field is absent
  | 'bad-value' // a value of the wrong type or out of range
  | 'unsupported-rule' // an iptables-save line ctsim cannot load or model (RuleParseError)
  | 'bad-kernel' // a kernel profile name ctsim does not know
  | 'bad-sysctl' // a sysctl the profile does not have, or a bad value
  | 'unknown-host' // a link, process or capture names a host that is not defined
  | 'unknown-interface' // a link, route or capture names an interface the host does not have
  | 'unknown-process' // an expectation names a process that is not defined
  | 'unknown-socket' // a timeline step uses a socket no earlier connect/bind created
  | 'address-on-no-host' // a connect target, gateway or proxy upstream that no host has (and nothing NATs)
  | 'duplicate-address' // two interfaces with the same address
  | 'route-loop' // following the routes from some host towards an address comes back to a host
  | 'timeline-backwards' // a step's `at` lies before the time the previous steps reach
  | 'uid-owns-nothing' // an --uid-owner/--gid-owner in a host's rules that no process on that host runs as
  | 'bad-expectation' // an expectation that is not one of the supported forms
  | 'bad-override'; // a --set/--sysctl argument that does not fit the document (the file is '--set')

export class ScenarioFileError extends Error {
  override readonly name = 'ScenarioFileError';
  readonly exitCode = 2;
  constructor(
    readonly kind: ScenarioFileErrorKind,
    readonly file: string,
    readonly line: number,
    /** Dotted path in the document ("hosts.pod.rules[1]"), '' for the whole file. */
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${field ? `${field}: ` : ''}${detail}`);
  }
}
