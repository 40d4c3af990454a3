import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { requestPersistence } from './persistence/db';
import { useEngine } from './stores/engine';
import { useModels } from './stores/models';
import './styles.css';

void useModels.getState().init();
void useEngine.getState().start();
void requestPersistence();

// The service worker makes the app work offline once loaded; the dev server has no precache list.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch(() => undefined);
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
