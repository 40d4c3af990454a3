import { useEffect, useRef } from 'react';
import { DEFAULT_FALSE_ALARM_RATE, framesNeeded } from '../../core/inspection';
import { useEngine } from '../stores/engine';
import { useInspect } from '../stores/inspect';
import { useModels } from '../stores/models';
import { typingInto, useOnboarding } from '../stores/onboarding';
import '../screens/help/help.css';

/** The three steps of a first day, each ticked from what the app really holds, each a link to its screen. */
export function FirstRunGuide() {
  const { guide, dismissGuide } = useOnboarding();
  const weights = useEngine((s) => Object.keys(s.weights).length > 0);
  const trained = useModels((s) => s.records.some((r) => r.version > 0));
  const inspected = useInspect((s) => s.items.some((i) => i.status === 'done'));
  if (!guide) return null;
  const steps = [
    {
      done: weights,
      href: '#/teach',
      title: 'Load backbone weights',
      text: (
        <>
          Drop a weights file on the weights panel of the Teach screen (or start the app with <code>npm start</code>, which prepares them). They stay in this browser.
        </>
      ),
    },
    { done: trained, href: '#/teach', title: 'Teach a model', text: `Name a model, drop photos of good parts (${framesNeeded(DEFAULT_FALSE_ALARM_RATE)} or more for the default ${DEFAULT_FALSE_ALARM_RATE * 100} % false-alarm promise), and train. A fifth is held out to set the threshold.` },
    { done: inspected, href: '#/inspect', title: 'Inspect', text: 'Drop new photos on the Inspect screen (or point a camera at parts on Live): each gets a score, a verdict and a heatmap.' },
  ];
  return (
    <section className="card onboarding" aria-labelledby="guide-title" data-testid="first-run-guide">
      <div className="row wrap guide-head">
        <h2 id="guide-title">Getting started: three steps</h2>
        <button type="button" className="secondary" onClick={dismissGuide} data-testid="guide-dismiss">
          Hide this guide
        </button>
      </div>
      <ol className="guide-steps">
        {steps.map((s, i) => (
          <li key={s.title} className={s.done ? 'done' : ''} data-testid="guide-step" data-done={s.done ? 'yes' : 'no'}>
            <span className="guide-mark" aria-hidden>
              {s.done ? '✓' : i + 1}
            </span>
            <span>
              <a href={s.href}>{s.title}</a>
              {s.done && <span className="visually-hidden"> (done)</span>}
              <br />
              <span className="small muted">{s.text}</span>
            </span>
          </li>
        ))}
      </ol>
      <p className="small muted">
        What the score, the threshold and the heatmap mean: <a href="#/help">Help</a>. Press <kbd>?</kbd> for the keyboard shortcuts. The guide comes back from the Help page.
      </p>
    </section>
  );
}

export const SHORTCUTS: { keys: string[]; where: string; what: string }[] = [
  { keys: ['?'], where: 'anywhere', what: 'this list of shortcuts' },
  { keys: ['↓', 'J'], where: 'Inspect table', what: 'next image' },
  { keys: ['↑', 'K'], where: 'Inspect table', what: 'previous image' },
  { keys: ['Home', 'End'], where: 'Inspect table', what: 'first / last image' },
  { keys: ['→', 'J'], where: 'Evaluate detail view', what: 'next image' },
  { keys: ['←', 'K'], where: 'Evaluate detail view', what: 'previous image' },
  { keys: ['Esc'], where: 'dialogs, Evaluate detail view', what: 'close' },
  { keys: ['← →'], where: 'Evaluate threshold slider', what: 'one distinct cut down or up' },
];

/** "?" anywhere outside a text field opens the shortcut list, a modal dialog that Escape closes. */
export function ShortcutsDialog() {
  const { shortcuts, setShortcuts } = useOnboarding();
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (e.key !== '?' || e.ctrlKey || e.metaKey || e.altKey || typingInto(e.target)) return;
      e.preventDefault();
      setShortcuts(true);
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  }, [setShortcuts]);
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (shortcuts && !d.open) {
      d.showModal();
      // React's autoFocus fires at mount, while the dialog is still closed; showModal then picks the first
      // focusable element, the "Help" link at the end. Close takes it, so Enter or Escape closes at once.
      d.querySelector<HTMLButtonElement>('[data-testid="shortcuts-close"]')?.focus();
    }
    if (!shortcuts && d.open) d.close();
  }, [shortcuts]);
  return (
    <dialog ref={dialog} className="shortcuts" aria-labelledby="shortcuts-title" onClose={() => setShortcuts(false)} data-testid="shortcuts">
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <table className="shortcut-table">
        <thead>
          <tr>
            <th scope="col">Keys</th>
            <th scope="col">Where</th>
            <th scope="col">Does</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={`${s.where}-${s.keys.join()}`}>
              <td>
                {s.keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && ' or '}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </td>
              <td>{s.where}</td>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="small muted">
        Tab and Shift+Tab reach every control; Enter or Space presses a button. More in <a href="#/help" onClick={() => setShortcuts(false)}>Help</a>.
      </p>
      <form method="dialog">
        <button type="submit" className="primary" data-testid="shortcuts-close">
          Close
        </button>
      </form>
    </dialog>
  );
}
