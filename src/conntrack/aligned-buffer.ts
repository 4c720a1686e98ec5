// Buffers whose first byte starts a cache line. An ArrayBuffer from malloc starts 16 bytes past
// a boundary, so 64-byte records in it straddle two lines; a WebAssembly.Memory's buffer is
// page-aligned (the one aligned buffer JavaScript can allocate). Below 1 MiB the data sits in
// the L2 cache anyway, and an ordinary buffer avoids reserving a wasm memory's address space
// for every small table.

/** Below this an ordinary ArrayBuffer is used. */
const ALIGNED_MIN_BYTES = 1 << 20;
const WASM_PAGE = 1 << 16;

/** A zero-filled buffer of at least `bytes` bytes, cache-line aligned from 1 MiB on. */
export function alignedBuffer(bytes: number): ArrayBuffer {
  if (bytes < ALIGNED_MIN_BYTES) return new ArrayBuffer(bytes);
  return new WebAssembly.Memory({ initial: Math.ceil(bytes / WASM_PAGE) }).buffer;
}
