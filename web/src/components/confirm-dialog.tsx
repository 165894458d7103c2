/**
 * A confirmation dialog for actions that change state. Uses the native <dialog> (focus moves into it,
 * Escape closes it). `onConfirm` may fail: the error (e.g. a 403 or an illegal transition) is shown in
 * the dialog so the user sees why nothing happened.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorBanner } from './ui.js';

export interface ConfirmDialogProps {
  readonly title: string;
  readonly confirmLabel: string;
  readonly danger?: boolean;
  readonly children?: ComponentChildren;
  /** Return normally to close the dialog; throw to keep it open with the error shown. */
  readonly onConfirm: () => Promise<void>;
  readonly onClose: () => void;
}

export function ConfirmDialog({
  title,
  confirmLabel,
  danger,
  children,
  onConfirm,
  onClose,
}: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      ref.current?.close();
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" onClose={onClose}>
      <form method="dialog" onSubmit={submit}>
        <h2 id="confirm-title">{title}</h2>
        {children}
        <ErrorBanner error={error} />
        <div class="actions">
          <button type="button" onClick={() => ref.current?.close()} disabled={busy}>
            Keep as is
          </button>
          <button type="submit" class={danger ? 'danger' : 'primary'} disabled={busy} data-confirm>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
