// Types of check-architecture.mjs for the tests that import it.
import type ts from 'typescript';

export interface Problem {
  file: string;
  line: number;
  rule: 'import-cycle' | 'long-file' | 'bytes-outside-wire' | 'cli-only';
  message: string;
}

export const MAX_LINES: number;
export const ALLOWED: Map<string, string>;
export function allowedBy(file: string, allowed?: Map<string, string>): string | undefined;
export function checkProgram(program: ts.Program, root: string, host?: ts.ModuleResolutionHost): Problem[];
export function repositoryProgram(root: string): ts.Program;
