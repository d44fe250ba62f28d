import { useState } from 'preact/hooks';
import { ApiError } from '../api/errors.js';
import type { Deletion } from '../api/types.js';
import { useApp } from '../app-context.js';
import { errorText } from '../error-text.js';
import { useI18n } from '../i18n.js';
import { ConfirmDialog } from './confirm-dialog.js';
import { Notice } from './notice.js';
import { RetryCountdown, waitingFor, type Waiting } from './retry-countdown.js';

/**
 * "Delete" with a confirmation. A 503 or 504 is waited out with a countdown
 * and tried again (deleting again is harmless: the API answers the same).
 */
export function DeleteRecipe(props: { recipe: { recipeId: string; title: string; points: number }; onDeleted: (d: Deletion) => void }) {
  const { api } = useApp();
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [waiting, setWaiting] = useState<Waiting>();
  const [error, setError] = useState<string>();

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const deletion = await api.deleteMyRecipe(props.recipe.recipeId, { onRetry: (n) => setWaiting(waitingFor(n)) });
      setOpen(false);
      props.onDeleted(deletion);
    } catch (e) {
      if (e instanceof ApiError && e.kind === 'not-found') {
        // Already gone (deleted elsewhere, or by a try whose answer was lost).
        setOpen(false);
        props.onDeleted({ recipeId: props.recipe.recipeId, pointsRevoked: 0 });
      } else setError(errorText(t, e));
    } finally {
      setBusy(false);
      setWaiting(undefined);
    }
  };

  const status = (
    <>
      {busy && !waiting && (
        <p class="muted" role="status">
          {t.deleting}
        </p>
      )}
      {waiting && <RetryCountdown waiting={waiting} />}
      {error && <Notice tone="error">{error}</Notice>}
    </>
  );

  return (
    <>
      <button type="button" class="danger" onClick={() => setOpen(true)} disabled={busy && !open}>
        {t.deleteRecipe}
      </button>
      {!open && status}
      {open && (
        <ConfirmDialog
          title={t.confirmDeleteTitle(props.recipe.title)}
          confirmLabel={t.confirmDelete}
          cancelLabel={t.cancel}
          busy={busy}
          onConfirm={() => void confirm()}
          onCancel={() => setOpen(false)}
        >
          <p>{t.confirmDeleteText(props.recipe.points)}</p>
          {status}
        </ConfirmDialog>
      )}
    </>
  );
}
