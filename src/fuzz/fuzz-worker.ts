// One `ctsim fuzz --jobs N` worker thread: runs its sub-shard and posts the summary (and, when
// asked, progress) back to the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { runFuzz } from './fuzzer.js';
import type { WorkerJob } from './parallel.js';

const { job, progress } = workerData as { job: WorkerJob; progress: boolean };
const summary = runFuzz({ ...job, onProgress: progress ? (p) => parentPort!.postMessage({ progress: p }) : undefined });
parentPort!.postMessage({ summary });
