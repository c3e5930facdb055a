export interface StructureProblem { rule: 'file-lines' | 'function-lines' | 'cross-command' | 'import-cli' | 'cycle' | 'command-shape'; file: string; line: number; message: string }
export function checkStructure(root: string): StructureProblem[];
export const MAX_FILE_LINES: number;
export const MAX_FUNCTION_LINES: number;
export const COMMAND_FILES: string[];
