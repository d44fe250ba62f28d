import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, ValidationError } from '../api/errors.js';
import type { MyPageRecipe } from '../api/types.js';
import { useApp } from '../app-context.js';
import { DeleteRecipe } from '../components/delete-recipe.js';
import { Notice } from '../components/notice.js';
import { PageHeading } from '../components/page-heading.js';
import { useNow } from '../components/use-now.js';
import { errorText, problemText } from '../error-text.js';
import { useI18n } from '../i18n.js';
import { rememberOwn } from '../known-recipes.js';
import { validateDisplayName } from '../display-name.js';
import { href } from '../router.js';

const POLL_MS = 5000;

/** My recipes with their points and my balance, refreshed every 5 s; my display name. */
export function MyPage() {
  const { api, memberId } = useApp();
  const { t } = useI18n();
  const now = useNow(1000);
  const [firstPage, setFirstPage] = useState<MyPageRecipe[]>();
  const [later, setLater] = useState<MyPageRecipe[]>([]);
  const [balance, setBalance] = useState<number>();
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number>();
  const [refreshFailed, setRefreshFailed] = useState<string>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [deletedNotice, setDeletedNotice] = useState<string>();
  const deleted = useRef(new Set<string>());
  const loadedMore = useRef(false);

  // The first page is polled (no retries: the next poll comes soon); pages
  // loaded with "more" stay as they were, but for what is deleted here.
  const refresh = async () => {
    try {
      const page = await api.myPage({}, { maxRetries: 0 });
      setFirstPage(page.recipes);
      // The read model may not have seen a delete made here yet: its points are gone already.
      const stillCounted = page.recipes.filter((r) => deleted.current.has(r.recipeId)).reduce((sum, r) => sum + r.points, 0);
      setBalance(Math.max(0, page.balance - stillCounted));
      // Once more pages are loaded, the cursor to go on with is the last page's.
      if (!loadedMore.current) setNextCursor(page.nextCursor);
      setUpdatedAt(Date.now());
      setRefreshFailed(undefined);
      page.recipes.forEach((r) => rememberOwn(memberId, r.recipeId));
    } catch (e) {
      if (!(e instanceof ApiError && e.kind === 'unauthenticated')) setRefreshFailed(`${t.refreshFailed} (${errorText(t, e)})`);
    }
  };

  useEffect(() => {
    void refresh();
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void refresh().finally(() => (running = false));
    }, POLL_MS);
    return () => clearInterval(timer);
  }, []);

  const more = async () => {
    if (!nextCursor) return;
    setLoadingMore(true);
    try {
      const page = await api.myPage({ cursor: nextCursor });
      loadedMore.current = true;
      setLater((before) => [...before, ...page.recipes]);
      setNextCursor(page.nextCursor);
      page.recipes.forEach((r) => rememberOwn(memberId, r.recipeId));
    } catch (e) {
      setRefreshFailed(errorText(t, e));
    } finally {
      setLoadingMore(false);
    }
  };

  const seen = new Set<string>();
  const recipes = [...(firstPage ?? []), ...later].filter((r) => {
    if (seen.has(r.recipeId) || deleted.current.has(r.recipeId)) return false;
    seen.add(r.recipeId);
    return true;
  });
  const secondsAgo = updatedAt === undefined ? undefined : Math.max(0, Math.floor((now - updatedAt) / 1000));

  return (
    <>
      <PageHeading title={`${t.myPageTitle} – ${t.appName}`}>{t.myPageTitle}</PageHeading>
      {deletedNotice && <Notice tone="info">{deletedNotice}</Notice>}
      {refreshFailed && <Notice tone="error">{refreshFailed}</Notice>}
      <p class="balance">
        {t.balance}: <strong data-testid="balance">{balance ?? '…'}</strong> {t.balancePoints}
      </p>
      <p class="muted" data-testid="last-refresh">
        {secondsAgo === undefined ? t.loading : t.updatedAgo(secondsAgo)}
      </p>

      <section aria-labelledby="my-recipes-heading">
        <h2 id="my-recipes-heading" tabIndex={-1}>
          {t.myRecipes}
        </h2>
        {firstPage && recipes.length === 0 && (
          <p>
            {t.noMyRecipes} <a href={href.new}>{t.registerOne}</a>
          </p>
        )}
        {recipes.length > 0 && (
          <ul class="my-recipes">
            {recipes.map((recipe) => (
              <li key={recipe.recipeId} class="my-recipe" data-testid="my-recipe">
                <a href={href.recipe(recipe.recipeId)}>{recipe.title}</a>
                <span class="points">{t.pointsCount(recipe.points)}</span>
                {recipe.registeredAt === null && <span class="muted">{t.notListedYet}</span>}
                <DeleteRecipe
                  recipe={recipe}
                  onDeleted={(d) => {
                    deleted.current.add(d.recipeId);
                    setDeletedNotice(t.deleted(d.pointsRevoked));
                    setBalance((b) => (b === undefined ? b : Math.max(0, b - d.pointsRevoked)));
                    document.querySelector<HTMLElement>('#my-recipes-heading')?.focus();
                    void refresh();
                  }}
                />
              </li>
            ))}
          </ul>
        )}
        {nextCursor && (
          <button type="button" onClick={() => void more()} disabled={loadingMore} aria-busy={loadingMore}>
            {t.moreMyRecipes}
          </button>
        )}
      </section>

      <DisplayName />
    </>
  );
}

function DisplayName() {
  const { api, profile, setProfile } = useApp();
  const { t } = useI18n();
  const [name, setName] = useState(profile?.displayName ?? '');
  const [touched, setTouched] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [status, setStatus] = useState<{ tone: 'info' | 'error'; text: string }>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!touched && profile) setName(profile.displayName);
  }, [profile?.displayName]);

  const save = async (event: Event) => {
    event.preventDefault();
    const local = validateDisplayName(name);
    setStatus(undefined);
    if (local) return setProblem(problemText(t, local));
    setProblem(undefined);
    setBusy(true);
    try {
      const saved = await api.setDisplayName(name.trim());
      setProfile(saved);
      setName(saved.displayName);
      setTouched(false);
      setStatus({ tone: 'info', text: t.nameSaved });
    } catch (e) {
      if (e instanceof ValidationError && e.details.length) setProblem(e.details.map((d) => d.message).join(' '));
      else setStatus({ tone: 'error', text: errorText(t, e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="display-name-heading">
      <h2 id="display-name-heading">{t.displayNameTitle}</h2>
      <form onSubmit={(e) => void save(e)} noValidate>
        <div class="field">
          <label for="display-name">{t.displayNameLabel}</label>
          <input
            id="display-name"
            name="displayName"
            autoComplete="nickname"
            value={name}
            aria-invalid={problem ? 'true' : undefined}
            aria-describedby={problem ? 'display-name-hint display-name-problem' : 'display-name-hint'}
            onInput={(e) => {
              setName(e.currentTarget.value);
              setTouched(true);
            }}
          />
          <p id="display-name-hint" class="hint">
            {t.displayNameHint}
          </p>
          {problem && (
            <p id="display-name-problem" class="problem">
              {problem}
            </p>
          )}
        </div>
        <button type="submit" disabled={busy} aria-busy={busy}>
          {t.saveName}
        </button>
        {status && <Notice tone={status.tone}>{status.text}</Notice>}
      </form>
    </section>
  );
}
