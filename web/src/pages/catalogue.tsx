import { useEffect, useRef, useState } from 'preact/hooks';
import { ValidationError } from '../api/errors.js';
import type { CatalogueItem } from '../api/types.js';
import { useApp } from '../app-context.js';
import { Notice } from '../components/notice.js';
import { PageHeading } from '../components/page-heading.js';
import { RetryCountdown, waitingFor, type Waiting } from '../components/retry-countdown.js';
import { errorText } from '../error-text.js';
import { useI18n } from '../i18n.js';
import { href, navigate } from '../router.js';

/** The catalogue, most recommended first (best match first for a search), 20 at a time. */
export function CataloguePage({ q }: { q: string }) {
  const { api } = useApp();
  const { t } = useI18n();
  const [items, setItems] = useState<CatalogueItem[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [waiting, setWaiting] = useState<Waiting>();
  const [error, setError] = useState<string>();
  const [info, setInfo] = useState<string>();
  const [query, setQuery] = useState(q);
  const [attempt, setAttempt] = useState(0);
  const list = useRef<HTMLUListElement>(null);
  // After "More recipes", focus goes to the first new recipe (the button is gone while loading).
  const [focusFrom, setFocusFrom] = useState<number>();
  useEffect(() => {
    if (focusFrom === undefined) return;
    list.current?.querySelectorAll('a')[focusFrom]?.focus();
    setFocusFrom(undefined);
  }, [items]);

  const load = async (cursor: string | null) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await api.catalogue({ q: q || undefined, cursor: cursor ?? undefined }, { onRetry: (n) => setWaiting(waitingFor(n)) });
      setItems((before) => {
        if (!cursor) return page.items;
        setFocusFrom(before.length);
        return [...before, ...page.items.filter((i) => !before.some((b) => b.recipeId === i.recipeId))];
      });
      setNextCursor(page.nextCursor);
    } catch (e) {
      if (cursor && e instanceof ValidationError && e.details.some((d) => d.field === 'cursor')) {
        // A cursor over an hour old (or of another search): start again from the top.
        setInfo(t.listRestarted);
        await load(null);
        return;
      }
      setError(errorText(t, e));
    } finally {
      setWaiting(undefined);
      setLoading(false);
    }
  };

  useEffect(() => {
    setQuery(q);
    setItems([]);
    setNextCursor(null);
    setInfo(undefined);
    void load(null);
  }, [q, attempt]);

  const search = (event: Event) => {
    event.preventDefault();
    const trimmed = query.trim().slice(0, 200);
    if (trimmed === q) setAttempt((n) => n + 1);
    else navigate(href.catalogue(trimmed));
  };

  return (
    <>
      <PageHeading title={`${t.recipesTitle} – ${t.appName}`}>{t.recipesTitle}</PageHeading>
      <form role="search" class="search" onSubmit={search}>
        <label for="search">{t.searchLabel}</label>
        <div class="search-row">
          <input id="search" type="search" name="q" maxLength={200} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
          <button type="submit">{t.searchButton}</button>
        </div>
      </form>
      {q && (
        <p class="results-for">
          {t.resultsFor(q)}{' '}
          <a href={href.catalogue()} class="button-link">
            {t.clearSearch}
          </a>
        </p>
      )}
      {info && <Notice tone="info">{info}</Notice>}
      {waiting && <RetryCountdown waiting={waiting} />}
      {error && (
        <Notice tone="error">
          {error}{' '}
          <button type="button" onClick={() => void load(items.length ? nextCursor : null)}>
            {t.tryAgain}
          </button>
        </Notice>
      )}
      {items.length > 0 && (
        <ul class="cards" ref={list}>
          {items.map((item) => (
            <li key={item.recipeId} class="card" data-testid="recipe-card">
              <h2>
                <a href={href.recipe(item.recipeId)}>{item.title}</a>
              </h2>
              <p class="meta">
                <span>{t.byAuthor(item.author.displayName)}</span> · <span>{t.pointsCount(item.points)}</span>
              </p>
            </li>
          ))}
        </ul>
      )}
      {!loading && !error && items.length === 0 && <p>{q ? t.noResults(q) : t.noRecipes}</p>}
      {loading && <p aria-live="polite">{t.loading}</p>}
      {!loading && nextCursor && (
        <button type="button" onClick={() => void load(nextCursor)}>
          {t.moreRecipes}
        </button>
      )}
    </>
  );
}
