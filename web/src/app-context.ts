import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient } from './api/client.js';
import type { Profile } from './api/types.js';

export interface Flash {
  text: string;
  tone: 'info' | 'error';
}

/** What every page may use: the API, the member's profile, and a notice to show after navigating. */
export interface AppState {
  api: ApiClient;
  memberId: string | undefined;
  profile: Profile | undefined;
  setProfile: (profile: Profile) => void;
  flash: (flash: Flash) => void;
}

export const AppContext = createContext<AppState | undefined>(undefined);

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (!state) throw new Error('useApp outside <AppContext.Provider>');
  return state;
}
