/**
 * weft Studio: the shell. Who the caller is comes from `GET /v1/whoami` (with the key entered
 * once per browser session, or none in local-development mode); every view hides or disables
 * what the caller's permissions do not allow. Views live in the URL fragment.
 */
import '@xyflow/react/dist/style.css';
import './styles.css';
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, api, credentials, type Identity } from './api.js';
import { DefinitionPage, DefinitionsList, DiffPage } from './definitions.js';
import { DesignerPage } from './designer.js';
import { RunPage, RunsList } from './runs.js';
import { TemplatePage, TemplatesList } from './templates.js';
import { ErrorLine } from './ui.js';

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const changed = () => setHash(window.location.hash);
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

function View({ hash, identity }: { hash: string; identity: Identity }) {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, second, third, fourth, fifth] = parts;
  if (first === 'definitions' && second && third === 'diff' && fourth && fifth)
    return <DiffPage id={second} a={fourth} b={fifth} />;
  if (first === 'definitions' && second)
    return (
      <DefinitionPage
        key={`${second}/${fourth ?? ''}`}
        id={second}
        {...(third === 'versions' && fourth ? { version: fourth } : {})}
        identity={identity}
      />
    );
  if (first === 'designer') {
    const draft = new URLSearchParams(search).get('draft');
    return (
      <DesignerPage
        key={`${path}?${search}`}
        identity={identity}
        {...(second ? { id: second } : {})}
        {...(third ? { version: third } : {})}
        {...(draft ? { draft } : {})}
      />
    );
  }
  if (first === 'templates' && second) return <TemplatePage key={second} id={second} identity={identity} />;
  if (first === 'templates') return <TemplatesList identity={identity} />;
  if (first === 'runs' && second) return <RunPage key={second} runId={second} identity={identity} />;
  if (first === 'runs') return <RunsList query={new URLSearchParams(search)} />;
  return <DefinitionsList identity={identity} />;
}

function SignIn({ problem, onKey }: { problem: unknown; onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  return (
    <form
      className="sign-in"
      onSubmit={(e) => {
        e.preventDefault();
        if (key.trim()) onKey(key.trim());
      }}
    >
      <h1>weft Studio</h1>
      <p>
        This gateway requires an API key. It is kept for this browser tab only (session storage) and sent with each API
        call.
      </p>
      {problem ? <ErrorLine error={problem} /> : null}
      <label htmlFor="api-key">API key</label>
      <input id="api-key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} />
      <button type="submit">Sign in</button>
    </form>
  );
}

function App() {
  const hash = useHash();
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [needsKey, setNeedsKey] = useState(false);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    api<Identity>('GET', '/v1/whoami').then(
      (who) => {
        setIdentity(who);
        setNeedsKey(false);
        setProblem(null);
      },
      (err: unknown) => {
        setIdentity(null);
        if (err instanceof ApiError && err.status === 401) {
          if (credentials.get()) credentials.clear();
          setNeedsKey(true);
          setProblem(attempt > 0 ? err : null);
        } else setProblem(err);
      },
    );
  }, [attempt]);
  if (!identity) {
    if (needsKey)
      return (
        <SignIn
          problem={problem}
          onKey={(key) => {
            credentials.set(key);
            setAttempt((n) => n + 1);
          }}
        />
      );
    return problem ? <ErrorLine error={problem} /> : <p>connecting to the gateway…</p>;
  }
  return (
    <>
      <header>
        <strong>weft Studio</strong>
        <nav>
          <a href="#/definitions">Definitions</a>
          {identity.permissions.includes('edit') && <a href="#/designer">Designer</a>}
          <a href="#/templates">Templates</a>
          <a href="#/runs">Runs</a>
          <a href="/docs">API</a>
        </nav>
        <span className="who" data-testid="who">
          {identity.actor} · tenant {identity.tenant} · {identity.roles.join(', ')}
          {identity.authentication === 'local-development' ? ' · local development (no keys yet)' : ''}
        </span>
        {credentials.get() && (
          <button
            type="button"
            onClick={() => {
              credentials.clear();
              setAttempt((n) => n + 1);
            }}
          >
            Sign out
          </button>
        )}
      </header>
      <main>
        <View hash={hash} identity={identity} />
      </main>
    </>
  );
}

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
