import { useState } from 'preact/hooks';
import type { ApiClient } from '../api/client.js';
import { ApiError, ValidationError } from '../api/errors.js';
import type { SignInConfig } from '../api/types.js';
import { beginOidcSignIn } from '../auth/oidc.js';
import { Notice } from '../components/notice.js';
import { PageHeading } from '../components/page-heading.js';
import { errorText, problemText } from '../error-text.js';
import { validateDisplayName } from '../display-name.js';
import { useI18n } from '../i18n.js';
import { sessionFromToken, type Session } from '../session.js';

/** Signing in as the deployment allows: development name, the identity provider, or a pasted token. */
export function SignInPage(props: { config: SignInConfig; api: ApiClient; onSignedIn: (session: Session) => void; notice?: string }) {
  const { t } = useI18n();
  return (
    <>
      <PageHeading title={`${t.signInTitle} – ${t.appName}`}>{t.signInTitle}</PageHeading>
      {props.notice && <Notice tone="info">{props.notice}</Notice>}
      {props.config.kind === 'development' && <DevSignIn {...props} />}
      {props.config.kind === 'oidc' && <OidcSignIn config={props.config} />}
      {props.config.kind === 'token' && <TokenSignIn {...props} />}
    </>
  );
}

function DevSignIn({ api, onSignedIn }: { api: ApiClient; onSignedIn: (session: Session) => void }) {
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [error, setError] = useState<string>();

  const submit = async (event: Event) => {
    event.preventDefault();
    // The gateway takes any display name (1–50 characters, one line) as a development sign-in.
    const local = validateDisplayName(name);
    if (local) {
      setProblem(problemText(t, local));
      return;
    }
    setBusy(true);
    setProblem(undefined);
    setError(undefined);
    try {
      const session = await api.devSignIn(name.trim());
      onSignedIn({ token: session.token, memberId: session.memberId, expiresAt: Date.parse(session.expiresAt) });
    } catch (e) {
      if (e instanceof ValidationError) setProblem(e.details.map((d) => d.message).join(' ') || e.message);
      else setError(errorText(t, e));
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <p>{t.devSignInHint}</p>
      {error && <Notice tone="error">{error}</Notice>}
      <div class="field">
        <label for="member-name">{t.memberName}</label>
        <input
          id="member-name"
          name="name"
          autoComplete="username"
          value={name}
          maxLength={50}
          aria-invalid={problem ? 'true' : undefined}
          aria-describedby={problem ? 'member-name-hint member-name-problem' : 'member-name-hint'}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <p id="member-name-hint" class="hint">
          {t.memberNameHint}
        </p>
        {problem && (
          <p id="member-name-problem" class="problem">
            {problem}
          </p>
        )}
      </div>
      <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
        {t.signInButton}
      </button>
    </form>
  );
}

function OidcSignIn({ config }: { config: Extract<SignInConfig, { kind: 'oidc' }> }) {
  const { t } = useI18n();
  const [error, setError] = useState<string>();
  return (
    <>
      <p>{t.oidcSignInHint}</p>
      {error && <Notice tone="error">{error}</Notice>}
      <button type="button" class="primary" onClick={() => void beginOidcSignIn(config).catch(() => setError(t.signInFailed))}>
        {t.oidcSignInButton}
      </button>
    </>
  );
}

function TokenSignIn({ api, onSignedIn }: { api: ApiClient; onSignedIn: (session: Session) => void }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const session = sessionFromToken(token.trim());
    if (session.token === '') return setProblem(t.problemRequired);
    setBusy(true);
    // Try it once: a token the gateway refuses is told here, not on the next page.
    const probe = api.withToken(session.token);
    try {
      await probe.profile({ maxRetries: 0 });
      onSignedIn(session);
    } catch (e) {
      setProblem(e instanceof ApiError && e.kind === 'unauthenticated' ? t.tokenNotValid : errorText(t, e));
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <p>{t.tokenSignInHint}</p>
      <div class="field">
        <label for="access-token">{t.accessToken}</label>
        <textarea
          id="access-token"
          rows={4}
          spellcheck={false}
          value={token}
          aria-invalid={problem ? 'true' : undefined}
          aria-describedby={problem ? 'access-token-problem' : undefined}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        {problem && (
          <p id="access-token-problem" class="problem">
            {problem}
          </p>
        )}
      </div>
      <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
        {t.signInButton}
      </button>
    </form>
  );
}
