import type { ComponentChildren } from 'preact';

/** A status or error banner. Errors are alerts; the rest polite status updates. */
export function Notice({ tone, children }: { tone: 'info' | 'error' | 'waiting'; children: ComponentChildren }) {
  return (
    <div class={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'} data-testid="notice">
      {children}
    </div>
  );
}
