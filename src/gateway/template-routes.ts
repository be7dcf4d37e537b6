/**
 * The template routes: list, read, store and delete a tenant's templates (the built-in starter
 * templates are listed for every tenant and are read-only), and instantiate one: the parameter
 * values are checked and substituted as whole values (src/templates/instantiate.ts), and the
 * resulting definition goes through exactly the validation of `POST /v1/definitions`; with
 * `submit: true` it is stored as that route stores it (four-eyes publishing included).
 */
import type { Express, Request } from 'express';
import { DEFINITION_ID_PATTERN } from '../../interpreter/definition-schema.js';
import { identityOf } from '../auth/identity.js';
import type { StoredTemplate } from '../store/template-store.js';
import { checkTemplate } from '../templates/check-template.js';
import { blameParameter, instantiate, type Placement } from '../templates/instantiate.js';
import { STARTER_TEMPLATES } from '../templates/starter.js';
import { InstantiateBody, type Template, type TemplateParameter } from '../templates/template-schema.js';
import { definitionProblems, submitDefinition, validateForTenant } from './definition-routes.js';
import { actor, param, type GatewayDeps } from './gateway-deps.js';
import { HttpError, notFound, parseOrThrow, validationFailed } from '../shared/http-error.js';
import { SECRET_DEFAULT_MASK, withoutSecretDefaults } from './secret-defaults.js';

/** A template as the routes answer it: built-in ones say so; stored ones say who stored them and when. */
type TemplateView = Template & { builtin: boolean; created_at?: string; created_by?: string };

/**
 * A template as a reader may see it: as definition routes never show a secret variable's default,
 * a template shows neither a literal default of a `secret: true` variable nor the default or
 * example of a parameter that fills one (`"***"`). The stored template keeps them.
 */
export function withoutSecrets(template: Template): Template {
  const variables = template.definition.variables;
  if (!Array.isArray(variables)) return template;
  const hidden = new Set<string>();
  const masked = variables.map((variable) => {
    if (!variable || typeof variable !== 'object' || Array.isArray(variable)) return variable;
    if (variable.secret !== true || variable.default === undefined) return variable;
    const fill = variable.default;
    if (fill && typeof fill === 'object' && !Array.isArray(fill) && typeof fill.$param === 'string') {
      hidden.add(fill.$param);
      return variable;
    }
    return { ...variable, default: SECRET_DEFAULT_MASK };
  });
  const parameters = template.parameters.map((parameter) => {
    if (!hidden.has(parameter.name)) return parameter;
    const out: Record<string, unknown> = { ...parameter };
    for (const key of ['default', 'example']) if (out[key] !== undefined) out[key] = SECRET_DEFAULT_MASK;
    return out as TemplateParameter;
  });
  return { ...template, parameters, definition: { ...template.definition, variables: masked } };
}

const builtinView = (template: Template): TemplateView => ({ ...withoutSecrets(template), builtin: true });
const storedView = ({ template, created_at, created_by }: StoredTemplate): TemplateView => ({
  ...withoutSecrets(template),
  builtin: false,
  created_at,
  created_by,
});

/** The entry of `GET /v1/templates`: everything but the definition. */
function summary({ definition: _definition, ...rest }: TemplateView): Omit<TemplateView, 'definition'> {
  return rest;
}

/** Runs `check`, re-pointing the problems of a `validation_failed` it throws at the parameters behind them. */
function blamed<T>(placements: readonly Placement[], check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof HttpError && err.code === 'validation_failed' && err.details) {
      throw new HttpError(
        err.code,
        err.message,
        err.details.map((p) => blameParameter(p, placements)),
      );
    }
    throw err;
  }
}

export function templateRoutes(app: Express, deps: GatewayDeps): void {
  const tenantOf = (req: Request) => identityOf(req).tenant;

  /** The template the caller's tenant has under `id`, as stored: built-in first (their ids cannot be stored). */
  async function find(req: Request, id: string): Promise<{ template: Template; view: TemplateView }> {
    const builtin = STARTER_TEMPLATES.get(id);
    if (builtin) return { template: builtin, view: builtinView(builtin) };
    const stored = DEFINITION_ID_PATTERN.test(id) ? await deps.store.templates.get(tenantOf(req), id) : undefined;
    if (!stored) throw notFound(`template "${id}"`);
    return { template: stored.template, view: storedView(stored) };
  }

  app.get('/v1/templates', async (req, res) => {
    const stored = await deps.store.templates.list(tenantOf(req));
    const items = [...[...STARTER_TEMPLATES.values()].map(builtinView), ...stored.map(storedView)]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map(summary);
    res.json({ items });
  });

  app.get('/v1/templates/:id', async (req, res) => {
    res.json((await find(req, param(req, 'id'))).view);
  });

  app.post('/v1/templates', async (req, res) => {
    const checked = checkTemplate(req.body, (definition) => definitionProblems(definition, deps));
    if (!checked.ok) throw validationFailed(checked.problems, 'the template is invalid');
    const { template } = checked;
    if (STARTER_TEMPLATES.has(template.id)) {
      throw new HttpError('conflict', `"${template.id}" is a built-in template; store yours under another id`);
    }
    const put = await deps.store.templates.create(tenantOf(req), template, actor(req));
    if (put === 'conflict') {
      throw new HttpError(
        'conflict',
        `template "${template.id}" exists with other content; templates are immutable: delete it first, or choose another id`,
      );
    }
    res.status(put === 'created' ? 201 : 200).json({ id: template.id, created: put === 'created' });
  });

  app.delete('/v1/templates/:id', async (req, res) => {
    const id = param(req, 'id');
    if (STARTER_TEMPLATES.has(id)) {
      throw new HttpError('rejected', `"${id}" is a built-in template and cannot be deleted`);
    }
    const deleted = DEFINITION_ID_PATTERN.test(id) && (await deps.store.templates.delete(tenantOf(req), id));
    if (!deleted) throw notFound(`template "${id}"`);
    res.status(204).end();
  });

  app.post('/v1/templates/:id/instantiate', async (req, res) => {
    const body = parseOrThrow(InstantiateBody, req.body);
    const { template } = await find(req, param(req, 'id'));
    const instantiated = instantiate(template, body.id, body.parameters);
    if (!instantiated.ok) throw validationFailed(instantiated.problems, 'the parameters are invalid');
    const scope = await deps.scopes.ofRequest(req);
    // Problems point at the parameter whose value is at fault, else into the instantiated definition.
    const definition = blamed(instantiated.placements, () =>
      validateForTenant(
        instantiated.definition,
        deps,
        scope,
        body.submit === true ? 'submit' : 'validate',
        `the definition instantiated from template "${template.id}" is invalid`,
      ),
    );
    if (body.submit !== true) {
      // As the definition routes answer: a secret variable's default shows as "***" (submit stores it).
      res.json(withoutSecretDefaults(definition));
      return;
    }
    const submitted = await submitDefinition(scope, definition, actor(req));
    res.status(submitted.status).json(submitted.body);
  });
}
