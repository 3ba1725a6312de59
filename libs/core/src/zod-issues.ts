import type { z } from 'zod';
import type { FieldError } from './errors.js';

/** `['workers', 2, 'slots']` → `workers[2].slots` */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

export function fieldErrorsOf(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = formatIssuePath(issue.path);
      const keys = issue.keys.join(', ');
      return { path: where === '(root)' ? keys : `${where}.${keys}`, message: 'unknown field' };
    }
    return { path: formatIssuePath(issue.path), message: issue.message };
  });
}

export function describeFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('; ');
}
