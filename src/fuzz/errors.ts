// The fuzzer's typed error: invariants were violated. The CLI reports it as
// "ctsim: FuzzViolations (violation): ..." with exit status 1.
export class FuzzViolations extends Error {
  override readonly name = 'FuzzViolations';
  readonly kind = 'violation';
}
