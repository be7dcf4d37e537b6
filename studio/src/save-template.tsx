/**
 * "Store as template" from the Designer: the current definition (without `id` and `version`)
 * stored as a template through `POST /v1/templates`, with the id, name and description a person
 * gives it. The template declares no parameters: instantiating it gives this definition back, under
 * the id chosen then. The API's problems are shown as it answered them.
 */
import { useState, type FormEvent } from 'react';
import { api, type Definition } from './api.js';
import { ErrorLine } from './ui.js';

export function SaveAsTemplate({ definition, onClose }: { definition: Definition; onClose: () => void }) {
  const [id, setId] = useState(definition.id ? `${definition.id}-template` : '');
  const [name, setName] = useState(definition.name ?? definition.id);
  const [description, setDescription] = useState('');
  const [outcome, setOutcome] = useState<unknown>(null);
  const [stored, setStored] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const { id: _id, version: _version, ...body } = definition;
    try {
      const answer = await api<{ id: string; created: boolean }>('POST', '/v1/templates', {
        id,
        name,
        ...(description ? { description } : {}),
        parameters: [],
        definition: body,
      });
      setStored(answer.id);
      setOutcome(
        answer.created
          ? `Stored as template "${answer.id}".`
          : `Template "${answer.id}" already holds exactly this; nothing changed.`,
      );
    } catch (err) {
      setOutcome(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="panel" aria-label="store as template" onSubmit={(e) => void submit(e)}>
      <h3>Store as template</h3>
      <p className="muted">
        The template holds this definition as it is now, with no parameters; the gallery lists it for your tenant.
      </p>
      <label>
        template id <input aria-label="template id" value={id} onChange={(e) => setId(e.target.value)} />
      </label>
      <label>
        name <input aria-label="template name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        description{' '}
        <textarea
          aria-label="template description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
      </label>
      <div className="buttons">
        <button type="submit" disabled={busy}>
          Store template
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
        {stored && <a href={`#/templates/${encodeURIComponent(stored)}`}>open template</a>}
      </div>
      {typeof outcome === 'string' ? (
        <p className="ok" data-testid="template-saved">
          {outcome}
        </p>
      ) : outcome ? (
        <ErrorLine error={outcome} />
      ) : null}
    </form>
  );
}
