import { useEffect, useRef, useState } from 'preact/hooks';
import { newIdempotencyKey } from '../api/client.js';
import { ApiError, ValidationError } from '../api/errors.js';
import { useApp } from '../app-context.js';
import { Notice } from '../components/notice.js';
import { PageHeading } from '../components/page-heading.js';
import { RetryCountdown, waitingFor, type Waiting } from '../components/retry-countdown.js';
import { clearDraft, loadDraft, saveDraft, type StoredDraft } from '../draft.js';
import { errorText, problemText } from '../error-text.js';
import { useI18n } from '../i18n.js';
import { rememberOwn } from '../known-recipes.js';
import type { Messages } from '../messages/en.js';
import { issuesFromApi, toNewRecipe, validateRecipe, type FieldIssue, type FormField } from '../recipe-form.js';
import { href, navigate } from '../router.js';

const EMPTY = { title: '', ingredients: '', steps: '' };

const issueText = (t: Messages, issue: FieldIssue) =>
  issue.line === undefined ? problemText(t, issue.problem) : t.problemLine(issue.line + 1, problemText(t, issue.problem));

export function NewRecipePage() {
  const { api, memberId, flash } = useApp();
  const { t } = useI18n();
  const [stored, setStored] = useState<StoredDraft>(() => loadDraft(memberId) ?? { memberId, draft: EMPTY });
  const [restored] = useState(() => {
    const d = loadDraft(memberId)?.draft;
    return d !== undefined && (d.title !== '' || d.ingredients !== '' || d.steps !== '');
  });
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [busy, setBusy] = useState(false);
  const submitting = useRef(false);
  const [waiting, setWaiting] = useState<Waiting>();
  const [error, setError] = useState<string>();
  const form = useRef<HTMLFormElement>(null);

  useEffect(() => saveDraft(stored), [stored]);

  const { draft } = stored;
  const update = (field: FormField, value: string) => {
    setStored((s) => ({ ...s, draft: { ...s.draft, [field]: value } }));
    setIssues((list) => list.filter((i) => i.field !== field));
  };

  const focusFirstProblem = (list: FieldIssue[]) => {
    const first = list[0];
    if (first) form.current?.querySelector<HTMLElement>(`#recipe-${first.field}`)?.focus();
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    if (submitting.current) return; // a double click sends once
    const local = validateRecipe(draft);
    setIssues(local);
    setError(undefined);
    if (local.length) return focusFirstProblem(local);

    const recipe = toNewRecipe(draft);
    const body = JSON.stringify(recipe);
    // The same body as the last try (a retry after a failure): the same key, so at most one recipe.
    const submission = stored.submission?.body === body ? stored.submission : { key: newIdempotencyKey(), body };
    setStored((s) => ({ ...s, submission }));
    saveDraft({ ...stored, submission });

    submitting.current = true;
    setBusy(true);
    try {
      const created = await api.register(recipe, { idempotencyKey: submission.key, onRetry: (n) => setWaiting(waitingFor(n)) });
      clearDraft();
      rememberOwn(memberId, created.recipeId);
      flash({ tone: 'info', text: t.registered });
      navigate(href.recipe(created.recipeId));
    } catch (e) {
      if (e instanceof ValidationError) {
        const { issues: fromApi, other } = issuesFromApi(e.details);
        setIssues(fromApi);
        if (other.length || !fromApi.length) setError(t.errorInvalid(other.map((d) => `${d.field}: ${d.message}`).join('; ') || e.message));
        focusFirstProblem(fromApi);
      } else if (e instanceof ApiError && e.kind === 'conflict') {
        // The key was used with another body, or its recipe was deleted: the next try gets a new key.
        setStored((s) => ({ ...s, submission: undefined }));
        setError(t.idempotencyConflict);
      } else setError(errorText(t, e));
    } finally {
      submitting.current = false;
      setBusy(false);
      setWaiting(undefined);
    }
  };

  const field = (name: FormField, label: string, input: (describedBy: string | undefined, invalid: boolean) => preact.JSX.Element) => {
    const mine = issues.filter((i) => i.field === name);
    const problemId = `recipe-${name}-problem`;
    return (
      <div class="field">
        <label for={`recipe-${name}`}>{label}</label>
        {input(mine.length ? problemId : undefined, mine.length > 0)}
        {mine.length > 0 && (
          <ul id={problemId} class="problem">
            {mine.map((issue, i) => (
              <li key={i}>{issueText(t, issue)}</li>
            ))}
          </ul>
        )}
      </div>
    );
  };

  return (
    <>
      <PageHeading title={`${t.newRecipeTitle} – ${t.appName}`}>{t.newRecipeTitle}</PageHeading>
      {restored && <Notice tone="info">{t.draftRestored}</Notice>}
      <form ref={form} onSubmit={(e) => void submit(e)} noValidate>
        {issues.length > 0 && <Notice tone="error">{t.fixErrors}</Notice>}
        {field('title', t.titleLabel, (describedBy, invalid) => (
          <input
            id="recipe-title"
            name="title"
            value={draft.title}
            aria-invalid={invalid ? 'true' : undefined}
            aria-describedby={describedBy}
            onInput={(e) => update('title', e.currentTarget.value)}
          />
        ))}
        {field('ingredients', t.ingredientsLabel, (describedBy, invalid) => (
          <textarea
            id="recipe-ingredients"
            name="ingredients"
            rows={6}
            value={draft.ingredients}
            aria-invalid={invalid ? 'true' : undefined}
            aria-describedby={describedBy}
            onInput={(e) => update('ingredients', e.currentTarget.value)}
          />
        ))}
        {field('steps', t.stepsLabel, (describedBy, invalid) => (
          <textarea
            id="recipe-steps"
            name="steps"
            rows={8}
            value={draft.steps}
            aria-invalid={invalid ? 'true' : undefined}
            aria-describedby={describedBy}
            onInput={(e) => update('steps', e.currentTarget.value)}
          />
        ))}
        {waiting && <RetryCountdown waiting={waiting} />}
        {error && <Notice tone="error">{error}</Notice>}
        <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
          {t.registerButton}
        </button>
        {busy && !waiting && (
          <span class="muted" role="status">
            {' '}
            {t.registering}
          </span>
        )}
      </form>
    </>
  );
}
