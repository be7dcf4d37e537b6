/**
 * Where the definition language reads a string as a bare expression (or an expression map), and
 * where as a `{{ }}` template, as patterns over JSON Pointers into the definition. A map body's
 * fields sit under `/nodes/i/task|ai|subworkflow`. Shared by template instantiation (which keeps
 * parameters out of expressions) and the Studio (which previews these fields), so it imports
 * nothing.
 */
const EXPRESSION_POINTERS: readonly RegExp[] = [
  /^\/edges\/\d+\/when$/,
  /^\/nodes\/\d+\/(expression|items|until|correlation_key|filters|result)$/,
  /^\/nodes\/\d+\/assign(\/.*)?$/,
  /^\/nodes\/\d+\/((task|ai|subworkflow)\/)?resource_limits\/concurrency_key$/,
  /^\/nodes\/\d+\/(ai\/)?output_mapping(\/.*)?$/,
  /^\/triggers\/\d+\/filters$/,
  /^\/options\/(result|concurrency_key)$/,
];

/** Task, ai and subworkflow inputs and prompts (map bodies too). */
const TEMPLATE_POINTERS: readonly RegExp[] = [
  /^\/nodes\/\d+\/((task|ai|subworkflow)\/)?(compensation\/)?inputs(\/.*)?$/,
  /^\/nodes\/\d+\/(ai\/)?(prompt_template|system)$/,
];

/** Whether a string at `pointer` (into the definition) is read as an expression. */
export function isExpressionPointer(pointer: string): boolean {
  return EXPRESSION_POINTERS.some((pattern) => pattern.test(pointer));
}

/** Whether a string at `pointer` is read as a `{{ }}` template. */
export function isTemplatePointer(pointer: string): boolean {
  return TEMPLATE_POINTERS.some((pattern) => pattern.test(pointer));
}
