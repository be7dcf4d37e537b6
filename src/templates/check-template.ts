/**
 * Checking a template when it is stored: its schema, its parameters and placeholders
 * (`templateProblems`), and its definition, instantiated with each parameter's default (or
 * example), through the same validation as `POST /v1/definitions`. Every problem comes back at
 * once with its JSON Pointer into the template.
 */
import { toPointer, type Problem } from '../../interpreter/problems.js';
import { instantiate, templateProblems } from './instantiate.js';
import { Template } from './template-schema.js';

export type TemplateCheck = { ok: true; template: Template } | { ok: false; problems: Problem[] };

/** `definitionProblems` validates a definition as a submit would (pointers into the definition). */
export function checkTemplate(body: unknown, definitionProblems: (definition: unknown) => Problem[]): TemplateCheck {
  const parsed = Template.safeParse(body);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((i) => ({ path: toPointer(i.path), message: i.message })) };
  }
  const template = parsed.data;
  const { problems, probe } = templateProblems(template);
  if (problems.length > 0) return { ok: false, problems };
  const probed = instantiate(template, template.id, probe);
  if (!probed.ok) {
    // A default or example that would bring code into the definition: name the parameter's entry.
    return {
      ok: false,
      problems: probed.problems.map((p) => ({
        path: parameterPointer(template, p.path),
        message: `with its default or example: ${p.message}`,
      })),
    };
  }
  const invalid = definitionProblems(probed.definition);
  if (invalid.length > 0) {
    return {
      ok: false,
      problems: invalid.map((p) => ({
        path: p.path === '/id' ? '/id' : `/definition${p.path}`,
        message: `${p.message} (checked with each parameter's default or example)`,
      })),
    };
  }
  return { ok: true, template };
}

/** `/parameters/<name>` (instantiate body) as `/parameters/<index>` (template). */
function parameterPointer(template: Template, path: string): string {
  const name = path
    .replace(/^\/parameters\//, '')
    .replace(/~1/g, '/')
    .replace(/~0/g, '~');
  const index = template.parameters.findIndex((p) => p.name === name);
  return index < 0 ? path : `/parameters/${index}`;
}
