import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api/errors.js';
import type { MyRecipe, Recipe } from '../api/types.js';
import { useApp } from '../app-context.js';
import { DeleteRecipe } from '../components/delete-recipe.js';
import { Notice } from '../components/notice.js';
import { PageHeading } from '../components/page-heading.js';
import { RetryCountdown, waitingFor, type Waiting } from '../components/retry-countdown.js';
import { errorText } from '../error-text.js';
import { useI18n } from '../i18n.js';
import { href, navigate } from '../router.js';
import { isKnownOwn, rememberOwn, rememberRecommended, wasRecommended } from '../known-recipes.js';

/** What the page shows: the public recipe, and the member's own copy when it is theirs (with ingredients and steps). */
interface Loaded {
  recipe?: Recipe;
  own?: MyRecipe;
}

const isNotFound = (e: unknown) => e instanceof ApiError && e.kind === 'not-found';

export function RecipePage({ recipeId }: { recipeId: string }) {
  const { api, profile, memberId, flash } = useApp();
  const { t, formatDate } = useI18n();
  const [loaded, setLoaded] = useState<Loaded>();
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string>();
  const [waiting, setWaiting] = useState<Waiting>();
  const [recommending, setRecommending] = useState(false);
  const [recommended, setRecommended] = useState(() => wasRecommended(memberId, recipeId));
  const [recommendNotice, setRecommendNotice] = useState<{ tone: 'info' | 'error'; text: string }>();
  const onRetry = { onRetry: (n: Parameters<typeof waitingFor>[0]) => setWaiting(waitingFor(n)) };

  const ownCopy = async (): Promise<MyRecipe | undefined> => {
    try {
      const own = await api.myRecipe(recipeId, onRetry);
      rememberOwn(memberId, recipeId);
      return own;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };

  /** The catalogue's copy; a recipe just registered is not there yet. */
  const publicCopy = async (): Promise<Recipe | undefined> => {
    try {
      return await api.recipe(recipeId, onRetry);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };

  const load = async () => {
    setError(undefined);
    try {
      // Known to be ours (registered or listed here): our copy first, it exists
      // before the catalogue has it. Otherwise the public one, and ours too when
      // the author's name is ours (names can be shared: /myrecipes/{id} decides).
      if (isKnownOwn(memberId, recipeId)) {
        const own = await ownCopy();
        if (own) setLoaded({ own });
        else setMissing(true);
        return;
      }
      const recipe = await api.recipe(recipeId, onRetry);
      const own = profile && recipe.author.displayName === profile.displayName ? await ownCopy() : undefined;
      setLoaded({ recipe, own });
    } catch (e) {
      if (isNotFound(e)) setMissing(true);
      else setError(errorText(t, e));
    } finally {
      setWaiting(undefined);
    }
  };

  useEffect(() => {
    setLoaded(undefined);
    setMissing(false);
    void load();
  }, [recipeId, profile?.displayName]);

  // Our recipe: its catalogue copy (for its recommendations) comes a moment
  // after registering; look for it a few times rather than at once, as each
  // miss is a 404.
  const [unlistedTries, setUnlistedTries] = useState(0);
  const unlisted = loaded?.own !== undefined && loaded.recipe === undefined;
  useEffect(() => {
    if (!unlisted || unlistedTries >= 5) return;
    const timer = setTimeout(
      () => {
        publicCopy().then(
          (recipe) => (recipe ? setLoaded((l) => ({ ...l, recipe })) : setUnlistedTries((n) => n + 1)),
          () => setUnlistedTries((n) => n + 1),
        );
      },
      unlistedTries === 0 ? 1500 : 3000,
    );
    return () => clearTimeout(timer);
  }, [unlisted, unlistedTries]);

  const recommend = async () => {
    setRecommending(true);
    setRecommendNotice(undefined);
    try {
      const answer = await api.recommend(recipeId, onRetry);
      rememberRecommended(memberId, recipeId);
      setRecommended(true);
      setLoaded((l) => (l?.recipe ? { ...l, recipe: { ...l.recipe, points: answer.points, recommendations: answer.recommendations } } : l));
      setRecommendNotice({ tone: 'info', text: answer.alreadyRecommended ? t.recommendRepeat : t.recommendDone });
    } catch (e) {
      if (e instanceof ApiError && e.kind === 'forbidden') {
        // Our own after all (RECOMMENDATION.OWN_RECIPE).
        rememberOwn(memberId, recipeId);
        void load();
      }
      setRecommendNotice({ tone: 'error', text: errorText(t, e) });
    } finally {
      setRecommending(false);
      setWaiting(undefined);
    }
  };

  if (missing) {
    return (
      <>
        <PageHeading title={`${t.recipeNotFound} – ${t.appName}`}>{t.recipeNotFound}</PageHeading>
        <p>{t.recipeNotFoundText}</p>
        <p>
          <a href={href.catalogue()}>{t.backToRecipes}</a>
        </p>
      </>
    );
  }
  if (!loaded) {
    return (
      <>
        {waiting && <RetryCountdown waiting={waiting} />}
        {error ? (
          <Notice tone="error">
            {error}{' '}
            <button type="button" onClick={() => void load()}>
              {t.tryAgain}
            </button>
          </Notice>
        ) : (
          <p aria-live="polite">{t.loading}</p>
        )}
      </>
    );
  }

  const { recipe, own } = loaded;
  const title = recipe?.title ?? own?.title ?? '';
  const points = recipe?.points ?? own?.points ?? 0;
  const author = recipe?.author.displayName ?? profile?.displayName;
  const registeredAt = recipe?.registeredAt ?? own?.registeredAt;
  const ingredients = own?.ingredients ?? recipe?.ingredients;
  const steps = own?.steps ?? recipe?.steps;

  return (
    <article class="recipe">
      <PageHeading title={`${title} – ${t.appName}`}>{title}</PageHeading>
      {own && !recipe && unlistedTries > 0 && <Notice tone="info">{t.notYetListed}</Notice>}
      <dl class="facts">
        {author !== undefined && (
          <div>
            <dt>{t.author}</dt>
            <dd>{author}</dd>
          </div>
        )}
        <div>
          <dt>{t.points}</dt>
          <dd>
            <span data-testid="points">{points}</span>
            {recipe && <span class="muted"> ({t.recommendationsCount(recipe.recommendations)})</span>}
          </dd>
        </div>
      </dl>
      {registeredAt && <p class="muted">{t.registeredOn(formatDate(registeredAt))}</p>}
      {ingredients && (
        <section aria-labelledby="ingredients-heading">
          <h2 id="ingredients-heading">{t.ingredients}</h2>
          <ul>
            {ingredients.map((item, i) => (
              <li key={i}>{item}</li>
            ))}
          </ul>
        </section>
      )}
      {steps && (
        <section aria-labelledby="steps-heading">
          <h2 id="steps-heading">{t.steps}</h2>
          <ol>
            {steps.map((step, i) => (
              <li key={i}>{step}</li>
            ))}
          </ol>
        </section>
      )}
      <div class="actions">
        <button
          type="button"
          class="primary"
          disabled={own !== undefined || recommended || recommending}
          aria-describedby={own ? 'own-hint' : undefined}
          aria-busy={recommending}
          onClick={() => void recommend()}
        >
          {recommended ? t.recommended : t.recommend}
        </button>
        {own && (
          <DeleteRecipe
            recipe={{ recipeId, title, points: own.points }}
            onDeleted={(d) => {
              flash({ tone: 'info', text: t.deleted(d.pointsRevoked) });
              navigate(href.me);
            }}
          />
        )}
      </div>
      {own && (
        <p id="own-hint" class="muted">
          {t.ownRecipeHint}
        </p>
      )}
      {waiting && <RetryCountdown waiting={waiting} />}
      {recommendNotice && <Notice tone={recommendNotice.tone}>{recommendNotice.text}</Notice>}
    </article>
  );
}
