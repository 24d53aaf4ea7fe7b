// The server's stderr in the log channel at the level each line was logged with. The server
// writes Python logging records as "LEVEL name: message" (pygls' "Cancel notification for
// unknown message id" is a WARNING); vscode-languageclient would log every stderr line as an
// error. A line without a level (a traceback's continuation) keeps the level of the record it
// belongs to; before any record it is an error (a crash at start-up).
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<string, LogLevel> = {
  CRITICAL: 'error',
  ERROR: 'error',
  WARNING: 'warn',
  INFO: 'info',
  DEBUG: 'debug',
};

const RECORD = /^(CRITICAL|ERROR|WARNING|INFO|DEBUG) (.*)$/;

export class StderrLevels {
  private current: LogLevel = 'error';

  /** The level to log `line` at, and the text without its level word (the channel shows the level). */
  classify(line: string): { level: LogLevel; text: string } {
    const m = RECORD.exec(line);
    if (m) {
      this.current = LEVELS[m[1]];
      return { level: this.current, text: m[2] };
    }
    return { level: this.current, text: line };
  }
}

export interface LevelSink {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function logAt(sink: LevelSink, level: LogLevel, text: string): void {
  sink[level](text);
}
