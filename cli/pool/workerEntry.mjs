// Worker threads do not inherit tsx's loader from the parent, so each worker registers it before loading
// the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
