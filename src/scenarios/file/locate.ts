// From a path inside the parsed document to the line a person should look at: the `yaml`
// package keeps every node's source range; a LineCounter turns offsets into lines. A missing
// field points at its parent object, an unknown field at its key.
import { isMap, isScalar, type Document, type LineCounter, type Node } from 'yaml';

export type DocPath = ReadonlyArray<string | number>;

export function pathText(path: DocPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  private lineAt(offset: number): number {
    return this.lines.linePos(offset).line;
  }

  /** Line of the node at `path`, or of its nearest existing ancestor. */
  line(path: DocPath): number {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) return this.lineAt(node.range[0]);
    }
    return 1;
  }

  /** Line of the key `key` in the map at `path` (for unknown fields). */
  keyLine(path: DocPath, key: string): number {
    const node = this.doc.getIn(path, true);
    if (isMap(node)) {
      for (const item of node.items) {
        if (isScalar(item.key) && String(item.key.value) === key && item.key.range) return this.lineAt(item.key.range[0]);
      }
    }
    return this.line(path);
  }

  /** For a block scalar (`|`), the line its first content line is on; otherwise the node's line. */
  contentLine(path: DocPath): number {
    const node = this.doc.getIn(path, true);
    if (isScalar(node) && node.range) {
      const start = this.lineAt(node.range[0]);
      return node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED' ? start + 1 : start;
    }
    return this.line(path);
  }
}
