'use client';
/**
 * The in-app confirmation for changes that are hard to undo (deleting a device, a pool; changing
 * a role): a modal <dialog> that says what depends on the thing, instead of window.confirm.
 *
 * Accessible by construction: showModal() makes the rest of the page inert (focus stays inside,
 * Tab cycles through the dialog's buttons), Escape cancels, the dialog is labelled by its title
 * and described by its text, focus starts on Cancel (the safe choice) and returns to the button
 * that opened it.
 *
 *   const [confirm, dialog] = useConfirm();
 *   if (!(await confirm({ title: 'Delete the device “Main PACS”?', body: <>Used by 2 connectors…</>, confirmLabel: 'Delete device', danger: true }))) return;
 *   …
 *   return <>{dialog}…</>;
 */
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';

export interface ConfirmOptions {
  title: string;
  /** What happens and what depends on the thing (counts, names). */
  body?: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  /** A destructive action: the confirm button is red. */
  danger?: boolean;
  /** For the worst cases: the confirm button works only once this text (e.g. the pool's name) is typed. */
  typeToConfirm?: string;
}

interface Pending extends ConfirmOptions {
  resolve: (ok: boolean) => void;
}

export function useConfirm(): [(o: ConfirmOptions) => Promise<boolean>, ReactNode] {
  const [pending, setPending] = useState<Pending | null>(null);
  const confirm = useCallback(
    (o: ConfirmOptions) =>
      new Promise<boolean>((resolve) => {
        setPending({ ...o, resolve });
      }),
    [],
  );
  const close = useCallback(
    (ok: boolean) => {
      pending?.resolve(ok);
      setPending(null);
    },
    [pending],
  );
  return [confirm, pending ? <ConfirmDialog key="confirm" {...pending} onClose={close} /> : null];
}

export function ConfirmDialog({ title, body, confirmLabel, cancelLabel = 'Cancel', danger, typeToConfirm, onClose }: ConfirmOptions & { onClose: (ok: boolean) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const id = useId();
  const [typed, setTyped] = useState('');
  const typedOk = typeToConfirm === undefined || typed.trim() === typeToConfirm;
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const d = ref.current;
    if (d && !d.open) d.showModal();
    cancelRef.current?.focus();
    return () => {
      if (d?.open) d.close();
      // Back to where the user was (the button that asked), if it is still on the page.
      if (opener && document.contains(opener)) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={`${id}-title`}
      aria-describedby={body ? `${id}-body` : undefined}
      className="m-auto w-full max-w-md rounded-lg border border-slate-200 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-900/40"
      onCancel={(e) => {
        // Escape: the browser would close the dialog itself; close it through React instead.
        e.preventDefault();
        onClose(false);
      }}
    >
      <div className="p-5">
        <h2 id={`${id}-title`} className="text-base font-semibold">
          {title}
        </h2>
        {body && (
          <div id={`${id}-body`} className="mt-2 space-y-2 text-sm text-slate-700">
            {body}
          </div>
        )}
        {typeToConfirm !== undefined && (
          <div className="mt-3">
            <label className="label" htmlFor={`${id}-typed`}>
              Type “{typeToConfirm}” to confirm
            </label>
            <input
              id={`${id}-typed`}
              className="input"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && typedOk) onClose(true);
              }}
              autoComplete="off"
              spellCheck={false}
            />
          </div>
        )}
        <div className="mt-5 flex justify-end gap-2">
          <button ref={cancelRef} type="button" className="btn" onClick={() => onClose(false)}>
            {cancelLabel}
          </button>
          <button type="button" className={danger ? 'btn border-rose-700 bg-rose-700 text-white hover:bg-rose-800' : 'btn btn-primary'} disabled={!typedOk} onClick={() => onClose(true)}>
            {confirmLabel}
          </button>
        </div>
      </div>
    </dialog>
  );
}
