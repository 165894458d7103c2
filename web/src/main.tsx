/** Entry point: the API lives under the same prefix as the dashboard (`/tasker/ui/` -> `/tasker`). */
import { render } from 'preact';
import { ApiClient, localTokenStore } from './api/client.js';
import { App } from './app.js';
import './styles.css';

/** `/tasker/ui/` -> `/tasker`; `/ui/` (a server mounted without prefix) -> ``. */
function apiPrefix(pathname: string): string {
  const at = pathname.lastIndexOf('/ui');
  return at >= 0 ? pathname.slice(0, at) : '/tasker';
}

const tokens = localTokenStore();
const api = new ApiClient(apiPrefix(window.location.pathname), tokens);
const root = document.getElementById('app');
if (root) render(<App api={api} tokens={tokens} />, root);
