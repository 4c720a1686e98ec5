// Runs in every test file (vitest setupFiles): what test/support needs around each file.
import { afterAll } from 'vitest';
import { removeTestTempDirs } from './temp-dir.js';

afterAll(removeTestTempDirs);
