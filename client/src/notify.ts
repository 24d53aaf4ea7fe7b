// Errors reach the user once: every message goes to the log, but a popup with the same key
// is shown at most once per session (Restart Server forgets the keys), and never while an
// identical popup is still open.
import * as vsc from './vscodeapi';

export const SHOW_LOGS = 'Show Logs';
export const OPEN_SETTINGS = 'Open Settings';

export type Level = 'error' | 'warning' | 'info';

export class Notifier {
  private readonly shown = new Set<string>();

  constructor(private readonly log: vsc.LogChannel) {}

  /** Shows `message` unless a popup with `key` was already shown; resolves to the chosen action. */
  async once(level: Level, key: string, message: string, ...actions: string[]): Promise<string | undefined> {
    if (level === 'error') this.log.error(message);
    else if (level === 'warning') this.log.warn(message);
    else this.log.info(message);
    if (this.shown.has(key)) return undefined;
    this.shown.add(key);
    const show = level === 'error' ? vsc.showErrorMessage : level === 'warning' ? vsc.showWarningMessage : vsc.showInformationMessage;
    const choice = await show(`Alembic env: ${message}`, ...actions);
    await this.handleCommon(choice);
    return choice;
  }

  wasShown(key: string): boolean {
    return this.shown.has(key);
  }

  /** Lets the next `once` with these keys (or all keys) show a popup again. */
  reset(keys?: string[]): void {
    if (!keys) this.shown.clear();
    else for (const k of keys) this.shown.delete(k);
  }

  private async handleCommon(choice: string | undefined): Promise<void> {
    if (choice === SHOW_LOGS) this.log.show(true);
    else if (choice === OPEN_SETTINGS) await vsc.executeCommand('workbench.action.openSettings', 'alembicEnv.interpreter');
  }
}
