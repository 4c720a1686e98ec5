// The one WebAssembly API ctsim uses (lib "ES2022" has no WebAssembly typings, and "DOM" would
// bring the browser's globals): a Memory, for its page-aligned buffer (see conn-table.ts).
declare namespace WebAssembly {
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
}
