import { h } from './dom.js';

/**
 * A modal <dialog>: focus moves into it, Escape cancels, and the destructive button says exactly what it does.
 * Cancel is first and focused, so a stray Enter never erases anything.
 */
export function confirmDialog(heading: string, lines: string[], confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = `confirm-title-${Date.now()}`;
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const ok = h('button', { type: 'button', class: 'danger' }, confirmLabel);
    const dialog = h('dialog', { 'aria-labelledby': titleId, class: 'confirm' },
      h('h2', { id: titleId }, heading),
      ...lines.map((line) => h('p', {}, line)),
      h('div', { class: 'actions' }, cancel, ok));
    const finish = (answer: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancel.addEventListener('click', () => finish(false));
    ok.addEventListener('click', () => finish(true));
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); finish(false); });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
