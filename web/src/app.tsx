import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiClient } from './api/client.js';
import type { Profile, SignInConfig } from './api/types.js';
import { AppContext, type Flash } from './app-context.js';
import { completeOidcSignIn, isOidcCallback } from './auth/oidc.js';
import { Notice } from './components/notice.js';
import { PageHeading } from './components/page-heading.js';
import { I18nContext, initialLocale, LOCALES, rememberLocale, useI18n, type Locale } from './i18n.js';
import { CataloguePage } from './pages/catalogue.js';
import { MyPage } from './pages/my-page.js';
import { NewRecipePage } from './pages/new-recipe.js';
import { RecipePage } from './pages/recipe.js';
import { SignInPage } from './pages/sign-in.js';
import { href, navigate, parseRoute, useHash, type Route } from './router.js';
import {
  clearSession,
  isExpired,
  loadSession,
  rememberReturnTo,
  saveSession,
  sessionFromToken,
  takeReturnTo,
  type Session,
} from './session.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function App() {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  const t = LOCALES[locale];
  const tRef = useRef(t);
  tRef.current = t;
  const i18n = useMemo(() => {
    const dates = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
    return {
      locale,
      t,
      setLocale: (next: Locale) => {
        rememberLocale(next);
        setLocaleState(next);
      },
      formatDate: (iso: string) => dates.format(new Date(iso)),
    };
  }, [locale]);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);

  const [config, setConfig] = useState<SignInConfig>();
  const [configError, setConfigError] = useState(false);
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const sessionRef = useRef(session);
  sessionRef.current = session;
  const [signInNotice, setSignInNotice] = useState<string>();
  const [profile, setProfile] = useState<Profile>();
  // A flash is shown on the page navigated to next, and gone on the navigation after.
  const [flash, setFlash] = useState<Flash & { shownOn?: string }>();
  const hash = useHash();
  const route = parseRoute(hash);

  /** The session is over (401, or its token expired): back to sign-in, then back here. */
  const expire = () => {
    if (!sessionRef.current) return;
    rememberReturnTo(location.hash);
    clearSession();
    sessionRef.current = undefined;
    setSession(undefined);
    setProfile(undefined);
    setSignInNotice(tRef.current.sessionExpired);
    navigate(href.signIn);
  };

  const api = useMemo(
    () =>
      new ApiClient({
        fetch: (input, init) => fetch(input, init),
        sleep,
        now: () => Date.now(),
        token: () => {
          const current = sessionRef.current;
          return current && !isExpired(current) ? current.token : undefined;
        },
        onUnauthenticated: () => expire(),
      }),
    [],
  );

  // How this deployment signs in; and the identity provider's redirect back, if this is one.
  useEffect(() => {
    api
      .webConfig({ maxRetries: 2 })
      .then(async ({ signIn }) => {
        setConfig(signIn);
        if (signIn.kind === 'oidc' && isOidcCallback()) {
          try {
            signedIn(sessionFromToken(await completeOidcSignIn(signIn)));
          } catch {
            setSignInNotice(t.signInFailed);
            navigate(href.signIn);
          }
        }
      })
      .catch(() => setConfigError(true));
  }, []);

  // Expiry by the clock: leave when the token's exp passes, not only on the next 401.
  useEffect(() => {
    if (!session?.expiresAt) return;
    const timer = setTimeout(expire, Math.max(0, session.expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [session]);

  // The member's display name (for the header, and to tell their recipes).
  useEffect(() => {
    if (!session) return;
    api.profile().then(setProfile, () => {});
  }, [session]);

  // Every page but sign-in needs a session; the sign-in page is left once there is one.
  // (location.hash, not route: signedIn() may have navigated already.)
  useEffect(() => {
    if (isOidcCallback()) return; // the provider's redirect: completed above, then signedIn()
    const onSignIn = location.hash.startsWith('#/sign-in');
    const valid = session !== undefined && !isExpired(session);
    if (!onSignIn && !valid) {
      if (session) expire();
      else {
        rememberReturnTo(location.hash);
        navigate(href.signIn);
      }
    }
    if (onSignIn && valid) navigate(takeReturnTo());
  }, [route.page, session]);

  useEffect(() => {
    if (!flash) return;
    if (flash.shownOn === undefined) setFlash({ ...flash, shownOn: hash });
    else if (flash.shownOn !== hash) setFlash(undefined);
  }, [hash]);

  function signedIn(next: Session) {
    saveSession(next);
    sessionRef.current = next;
    setSession(next);
    setSignInNotice(undefined);
    navigate(takeReturnTo());
  }

  const signOut = () => {
    clearSession();
    sessionStorage.removeItem('recipe.draft');
    sessionRef.current = undefined;
    setSession(undefined);
    setProfile(undefined);
    setSignInNotice(t.signedOut);
    navigate(href.signIn);
  };

  const state = useMemo(
    () => ({ api, memberId: session?.memberId, profile, setProfile, flash: (f: Flash) => setFlash(f) }),
    [api, session?.memberId, profile],
  );

  const signedInNow = session !== undefined && !isExpired(session);
  return (
    <I18nContext.Provider value={i18n}>
      <AppContext.Provider value={state}>
        <a class="skip-link" href="#main" onClick={skipToMain}>
          {t.skipToContent}
        </a>
        <header class="site-header">
          <a class="brand" href={href.catalogue()}>
            {t.appName}
          </a>
          {signedInNow && (
            <nav aria-label={t.mainNav}>
              <ul>
                <NavLink to={href.catalogue()} current={route.page === 'catalogue'} label={t.navRecipes} />
                <NavLink to={href.new} current={route.page === 'new'} label={t.navNewRecipe} />
                <NavLink to={href.me} current={route.page === 'me'} label={t.navMyPage} />
              </ul>
            </nav>
          )}
          <div class="header-tools">
            {signedInNow && profile && <span class="signed-in-as">{t.signedInAs(profile.displayName)}</span>}
            {signedInNow && (
              <button type="button" onClick={signOut}>
                {t.signOut}
              </button>
            )}
            <label class="language">
              <span>{t.language}</span>
              <select value={locale} onChange={(e) => i18n.setLocale(e.currentTarget.value as Locale)}>
                {(Object.keys(LOCALES) as Locale[]).map((l) => (
                  <option key={l} value={l} lang={l}>
                    {t.languageNames[l]}
                  </option>
                ))}
              </select>
            </label>
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          {flash && <Notice tone={flash.tone}>{flash.text}</Notice>}
          {configError ? (
            <Notice tone="error">{t.errorNetwork}</Notice>
          ) : (
            <Page route={route} config={config} signedIn={signedInNow} api={api} onSignedIn={signedIn} signInNotice={signInNotice} />
          )}
        </main>
      </AppContext.Provider>
    </I18nContext.Provider>
  );
}

function skipToMain(event: Event) {
  // The hash is the router's: move focus without changing it.
  event.preventDefault();
  document.querySelector<HTMLElement>('main h1, main')?.focus();
}

function NavLink({ to, current, label }: { to: string; current: boolean; label: string }) {
  return (
    <li>
      <a href={to} aria-current={current ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
}

function Page(props: {
  route: Route;
  config: SignInConfig | undefined;
  signedIn: boolean;
  api: ApiClient;
  onSignedIn: (s: Session) => void;
  signInNotice: string | undefined;
}) {
  const { route } = props;
  const { t } = useI18n();
  if (route.page === 'sign-in') {
    if (!props.config) return <p aria-live="polite">{t.loading}</p>;
    return <SignInPage config={props.config} api={props.api} onSignedIn={props.onSignedIn} notice={props.signInNotice} />;
  }
  if (!props.signedIn) return <p aria-live="polite">{t.loading}</p>;
  switch (route.page) {
    case 'catalogue':
      return <CataloguePage q={route.q} />;
    case 'recipe':
      return <RecipePage key={route.recipeId} recipeId={route.recipeId} />;
    case 'new':
      return <NewRecipePage />;
    case 'me':
      return <MyPage />;
    default:
      return <NotFound />;
  }
}

function NotFound() {
  const { t } = useI18n();
  return (
    <>
      <PageHeading title={`${t.pageNotFound} – ${t.appName}`}>{t.pageNotFound}</PageHeading>
      <p>
        <a href={href.catalogue()}>{t.backToRecipes}</a>
      </p>
    </>
  );
}
