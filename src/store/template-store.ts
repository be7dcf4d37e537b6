/**
 * Templates stored per tenant in the definition store's database (the built-in starter templates
 * are not stored: they ship with weft, see src/templates/starter.ts). A stored template is
 * immutable: storing the same id again with the same content changes nothing, with other content
 * it is refused; delete it first.
 */
import type { Template } from '../templates/template-schema.js';
import { canonicalJson } from '../shared/canonical-json.js';

export interface StoredTemplate {
  template: Template;
  created_at: string;
  created_by: string;
}

/** `created`: stored; `identical`: the same content was stored already; `conflict`: other content has that id. */
export type TemplatePut = 'created' | 'identical' | 'conflict';

export interface TemplateStore {
  create(tenant: string, template: Template, actor: string): Promise<TemplatePut>;
  get(tenant: string, id: string): Promise<StoredTemplate | undefined>;
  /** The tenant's templates, by id. */
  list(tenant: string): Promise<StoredTemplate[]>;
  /** False when the tenant has no such template. */
  delete(tenant: string, id: string): Promise<boolean>;
}

/** The content of a template as stored and compared: canonical JSON (key order never counts). */
export function templateBody(template: Template): string {
  return canonicalJson(template);
}
