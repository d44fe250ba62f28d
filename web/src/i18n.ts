import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { en, type Messages } from './messages/en.js';
import { ko } from './messages/ko.js';

export type Locale = 'en' | 'ko';
export const LOCALES: Record<Locale, Messages> = { en, ko };
const STORAGE_KEY = 'recipe.locale';

/** The remembered choice, else the first of the browser's languages we have, else English. */
export function initialLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'ko') return saved;
  for (const language of navigator.languages ?? [navigator.language]) {
    const base = language.toLowerCase().split('-')[0];
    if (base === 'en' || base === 'ko') return base;
  }
  return 'en';
}

export function rememberLocale(locale: Locale): void {
  localStorage.setItem(STORAGE_KEY, locale);
  document.documentElement.lang = locale;
}

export interface I18n {
  locale: Locale;
  t: Messages;
  setLocale: (locale: Locale) => void;
  formatDate: (iso: string) => string;
}

export const I18nContext = createContext<I18n>({ locale: 'en', t: en, setLocale: () => {}, formatDate: (iso) => iso });
export const useI18n = () => useContext(I18nContext);
