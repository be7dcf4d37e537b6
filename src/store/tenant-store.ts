/**
 * One tenant's view of the definition store. A tenant's definitions are stored under the key
 * `<tenant>/<id>` (the default tenant's under the bare id, as before tenants existed); ids
 * cannot contain '/', so no id a tenant chooses or guesses can reach another tenant's
 * definitions. Callers see and pass bare ids only.
 */
import type { Definition, VersionedDefinition } from '../../interpreter/definition-schema.js';
import { definitionKey, tenantPrefix } from '../shared/tenants.js';
import type { DefinitionEvent } from './access-store.js';
import type {
  DefinitionStore,
  DefinitionSummary,
  SubmitOptions,
  SubmitResult,
  VersionInfo,
} from './definition-store.js';

export class TenantDefinitions {
  private readonly prefix: string;

  constructor(
    private readonly inner: DefinitionStore,
    readonly tenant: string,
  ) {
    this.prefix = tenantPrefix(tenant);
  }

  private key(id: string): string {
    return definitionKey(this.tenant, id);
  }

  /** Undefined for a stored key that is not this tenant's. */
  private bare(key: string): string | undefined {
    if (this.prefix === '') return key.includes('/') ? undefined : key;
    return key.startsWith(this.prefix) ? key.slice(this.prefix.length) : undefined;
  }

  async submit(definition: Definition, actor: string, options?: SubmitOptions): Promise<SubmitResult> {
    const result = await this.inner.submit({ ...definition, id: this.key(definition.id) }, actor, options);
    return { ...result, id: definition.id };
  }

  async get(id: string, version?: string): Promise<VersionedDefinition | undefined> {
    const found = await this.inner.get(this.key(id), version);
    return found ? { ...found, id } : undefined;
  }

  async list(): Promise<DefinitionSummary[]> {
    const all = await this.inner.list();
    return all.flatMap((summary) => {
      const id = this.bare(summary.id);
      return id === undefined ? [] : [{ ...summary, id }];
    });
  }

  versions(id: string): Promise<VersionInfo[] | undefined> {
    return this.inner.versions(this.key(id));
  }

  setActive(id: string, version: string | null): Promise<boolean> {
    return this.inner.setActive(this.key(id), version);
  }

  /** The change history of definition `id`, oldest first. */
  history(id: string): Promise<DefinitionEvent[]> {
    return this.inner.access.definitionEvents(this.key(id));
  }

  recordChange(id: string, event: DefinitionEvent): Promise<void> {
    return this.inner.access.appendDefinitionEvent(this.key(id), event);
  }
}
