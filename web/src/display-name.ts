import type { Problem } from './recipe-form.js';

// A display name (PUT /members/me): 1–50 characters once trimmed, one line, no control characters.
export const DISPLAY_NAME_MAX = 50;
// eslint-disable-next-line no-control-regex
const NAME_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function validateDisplayName(name: string): Problem | undefined {
  const trimmed = name.trim();
  if (trimmed === '') return { kind: 'required' };
  if ([...trimmed].length > DISPLAY_NAME_MAX) return { kind: 'tooLong', max: DISPLAY_NAME_MAX };
  if (NAME_CONTROL.test(trimmed)) return { kind: 'controlChars' };
  return undefined;
}
