// The status bar item: the server's state at a glance; clicking it opens the logs.
import * as vsc from './vscodeapi';

export type ServerState =
  | 'idle'
  | 'disabled'
  | 'untrusted'
  | 'starting'
  | 'running'
  | 'missing'
  | 'installing'
  | 'failed'
  | 'stopped';

interface Look {
  text: string;
  background?: 'warning' | 'error';
  what: string;
}

const LOOKS: Record<ServerState, Look> = {
  idle: { text: '$(database) Alembic env', what: 'waiting for an env.py or alembic.ini' },
  disabled: { text: '$(circle-slash) Alembic env', what: 'turned off (alembicEnv.enable)' },
  untrusted: { text: '$(shield) Alembic env', what: 'waiting for the workspace to be trusted' },
  starting: { text: '$(loading~spin) Alembic env', what: 'starting' },
  running: { text: '$(database) Alembic env', what: 'running' },
  missing: { text: '$(warning) Alembic env', background: 'warning', what: 'server not installed in this interpreter' },
  installing: { text: '$(loading~spin) Alembic env', what: 'installing alembic-env-lsp' },
  failed: { text: '$(error) Alembic env', background: 'error', what: 'not running (see the logs)' },
  stopped: { text: '$(debug-stop) Alembic env', what: 'stopped' },
};

export interface StatusView {
  update(state: ServerState, detail?: string): void;
  dispose(): void;
}

export function describeState(state: ServerState): string {
  return LOOKS[state].what;
}

export class StatusBar implements StatusView {
  private readonly item = vsc.createStatusBarItem('alembicEnv.status');

  constructor() {
    this.item.name = 'Alembic env.py server';
    this.item.command = 'alembicEnv.showLogs';
  }

  update(state: ServerState, detail?: string): void {
    const look = LOOKS[state];
    this.item.text = look.text;
    this.item.tooltip = `Alembic env.py server: ${look.what}${detail ? `\n${detail}` : ''}\nClick to show the logs.`;
    this.item.backgroundColor = look.background ? vsc.themeColor(`statusBarItem.${look.background}Background`) : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
