// A button that opens a modal confirmation saying what will happen, and does it only when confirmed.
// The dialog (a native <dialog>: focus stays inside, Escape closes it) shows the API's refusal in
// its own words and stays open so nothing typed is lost.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api/client.js';
import './actions.css';

export interface ConfirmActionProps<T> {
  /** The button's label, e.g. "Sync". */
  label: string;
  /** The dialog's heading, e.g. "Sync shop/web now?" */
  title: string;
  /** What will happen; may hold inputs (a revision to choose, a name to type). */
  children?: ReactNode;
  confirmLabel: string;
  /** Removes or overwrites something: the confirm button says so. */
  destructive?: boolean;
  /** False while the inputs in the dialog do not allow it yet. */
  ready?: boolean;
  /** Does it; the dialog closes when it resolves. */
  run: () => Promise<T>;
  onDone: (result: T) => void;
  /** Called when the dialog opens, e.g. to load what it shows. */
  onOpen?: () => void;
  buttonClassName?: string;
}

export function ConfirmAction<T>({ label, title, children, confirmLabel, destructive, ready = true, run, onDone, onOpen, buttonClassName = 'button' }: ConfirmActionProps<T>) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className={buttonClassName}
        onClick={() => {
          onOpen?.();
          setOpen(true);
        }}
      >
        {label}
      </button>
      {open && (
        <ConfirmDialog title={title} confirmLabel={confirmLabel} destructive={destructive} ready={ready} run={run} onClose={() => setOpen(false)} onDone={onDone}>
          {children}
        </ConfirmDialog>
      )}
    </>
  );
}

function ConfirmDialog<T>({
  title,
  children,
  confirmLabel,
  destructive,
  ready,
  run,
  onClose,
  onDone,
}: {
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  destructive?: boolean;
  ready: boolean;
  run: () => Promise<T>;
  onClose: () => void;
  onDone: (result: T) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    const el = dialog.current;
    if (el && !el.open) el.showModal();
    return () => el?.close();
  }, []);
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await run();
      onClose();
      onDone(result);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : (err as Error).message);
      setBusy(false);
    }
  };
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="dialog-title" onCancel={(e) => (busy ? e.preventDefault() : onClose())}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (ready && !busy) void confirm();
        }}
      >
        <h2 id="dialog-title" className="dialog__title">
          {title}
        </h2>
        <div className="dialog__body">{children}</div>
        {error && (
          <p className="dialog__error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog__buttons">
          <button type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className={destructive ? 'button button--danger' : 'button button--primary'} disabled={!ready || busy}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
