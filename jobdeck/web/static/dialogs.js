// Modal dialogs (<dialog>, opened with showModal): the browser keeps focus
// inside and closes on Escape; here, close buttons, a click on the backdrop,
// and focus going back to the control that opened the dialog.

const openers = new WeakMap();

export function wireDialog(dialog, { onClose } = {}) {
  dialog.addEventListener("click", (event) => {
    // A click on the backdrop lands on the dialog element itself.
    if (event.target === dialog) dialog.close();
    else if (event.target.closest('[data-action="close-dialog"]')) dialog.close();
  });
  dialog.addEventListener("close", () => {
    onClose?.();
    const opener = openers.get(dialog);
    openers.delete(dialog);
    if (opener?.isConnected) opener.focus();
  });
}

export function openDialog(dialog, opener, focusTarget = null) {
  openers.set(dialog, opener ?? document.activeElement);
  if (!dialog.open) dialog.showModal();
  (focusTarget ?? dialog.querySelector('[data-action="close-dialog"]'))?.focus();
}
