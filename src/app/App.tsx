import { useEffect, useState } from 'react';
import { Header } from './components/Header';
import { Notices } from './components/Notices';
import { UpdateBanner } from './components/UpdateBanner';
import { FirstRunGuide, ShortcutsDialog } from './components/Onboarding';
import { PAGES, SCREENS, screenFromHash, type ScreenId } from './screens';
import { EvaluateScreen } from './screens/evaluate/EvaluateScreen';
import { HistoryScreen } from './screens/history/HistoryScreen';
import { InspectScreen } from './screens/inspect/InspectScreen';
import { LiveScreen } from './screens/live/LiveScreen';
import { ModelsScreen } from './screens/models/ModelsScreen';
import { ReportScreen } from './screens/report/ReportScreen';
import { HelpScreen } from './screens/help/HelpScreen';
import { TeachScreen } from './screens/teach/TeachScreen';
import { VersionsScreen } from './screens/versions/VersionsScreen';
import { useEngine } from './stores/engine';
import { useEvaluate } from './stores/evaluate';
import { useInspect } from './stores/inspect';
import { useModels } from './stores/models';
import { useTeach } from './stores/teach';

function useHashScreen(): ScreenId {
  const [screen, setScreen] = useState(() => screenFromHash(location.hash));
  useEffect(() => {
    const on = () => setScreen(screenFromHash(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return screen;
}

export function App() {
  const screen = useHashScreen();
  const { status, startError, backend } = useEngine();
  const modelsReady = useModels((s) => s.ready);
  const activeId = useModels((s) => s.activeId);
  const loadTeach = useTeach((s) => s.load);

  useEffect(() => {
    void loadTeach(activeId);
  }, [activeId, loadTeach]);

  // The Inspect batch kept in IndexedDB comes back after a reload, until the user clears it.
  const restoreInspect = useInspect((s) => s.restore);
  const restoreEvaluate = useEvaluate((s) => s.restore);
  useEffect(() => {
    if (modelsReady) void restoreInspect();
    // The last evaluation too, until the user clears it.
    if (modelsReady) void restoreEvaluate();
  }, [modelsReady, restoreInspect, restoreEvaluate]);

  useEffect(() => {
    const title = [...SCREENS, ...PAGES].find((s) => s.id === screen)?.title ?? '';
    document.title = `${title} · DifferNet Inspector`;
  }, [screen]);

  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <Header screen={screen} />
      <Notices />
      <ShortcutsDialog />
      <UpdateBanner />
      <main id="main" tabIndex={-1} data-engine={status} data-screen={screen}>
        {status === 'failed' ? (
          <section className="card">
            <h2>The engine could not start</h2>
            <p className="error-text" role="alert">
              {startError}
            </p>
            <p>This app needs a browser with WebAssembly and Web Workers (a current Chrome, Edge or Firefox).</p>
          </section>
        ) : !modelsReady || !backend ? (
          <section className="card" aria-busy="true">
            <p>Starting the engine and measuring the fastest backend on this machine…</p>
          </section>
        ) : (
          <>
            {/* On the start screen only: elsewhere it would push the work a user came for down the page. */}
            {screen === 'teach' && <FirstRunGuide />}
            {screen === 'teach' && <TeachScreen />}
            {screen === 'evaluate' && <EvaluateScreen />}
            {screen === 'inspect' && <InspectScreen />}
            {screen === 'live' && <LiveScreen />}
            {screen === 'history' && <HistoryScreen />}
            {screen === 'versions' && <VersionsScreen />}
            {screen === 'models' && <ModelsScreen />}
            {screen === 'report' && <ReportScreen />}
            {screen === 'help' && <HelpScreen />}
          </>
        )}
      </main>
    </>
  );
}
