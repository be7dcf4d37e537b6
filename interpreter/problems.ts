/** One validation problem: where (a JSON Pointer into the submitted document) and what. */
export interface Problem {
  path: string;
  message: string;
}

/** Converts a zod issue path to a JSON Pointer (RFC 6901). */
export function toPointer(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  return prefix + path.map((key) => '/' + String(key).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
