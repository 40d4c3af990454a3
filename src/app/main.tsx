import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { registerServiceWorker } from './lib/serviceWorker';
import { onDatabaseNotice, requestPersistence } from './persistence/db';
import { startEngine } from './services/weightsAndModels';
import { useModels } from './stores/models';
import { useNotices } from './stores/notices';
import './styles.css';

// Another tab holding the database during an upgrade, or upgrading it: said in a banner.
onDatabaseNotice((message) => useNotices.getState().push('warning', message));
void useModels.getState().init();
void startEngine();
void requestPersistence();

// The service worker makes the app work offline once loaded and offers new builds; the dev server has no
// file list for it, so only the built app registers one.
if (import.meta.env.PROD) registerServiceWorker().catch(() => undefined);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
