// Part of `npm run build`: tsc compiles only .ts, so the data files the library reads next to its
// modules (Istio's .rules presets, the lab's python programs) are copied from src/ into dist/src/
// at the same relative paths; each module finds its files with new URL('./x', import.meta.url).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ASSET = /\.(rules|py)$/;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist', 'src');

let copied = 0;
for (const rel of fs.readdirSync(src, { recursive: true, encoding: 'utf8' })) {
  if (!ASSET.test(rel)) continue;
  const to = path.join(dist, rel);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(src, rel), to);
  copied++;
}
if (copied === 0) throw new Error(`copy-assets: no data files under ${src}`);
