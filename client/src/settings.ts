// The `alembicEnv` settings: reading them per scope, cleaning them up, and deciding which
// changes need a server restart. The server receives exactly what `readSettings` returns,
// both in `initializationOptions.settings` and in answers to `workspace/configuration`.
import type { ConfigurationChangeEvent, Uri, WorkspaceFolder } from 'vscode';
import * as vsc from './vscodeapi';

export const SECTION = 'alembicEnv';

export type RuleSeverity = 'error' | 'warning' | 'info' | 'hint';
export type TraceLevel = 'off' | 'messages' | 'verbose';
/** useBundled: the server runs from an environment the extension owns; fromEnvironment: from the interpreter. */
export type ImportStrategy = 'useBundled' | 'fromEnvironment';

export interface AlembicEnvSettings {
  enable: boolean;
  interpreter: string;
  importStrategy: ImportStrategy;
  serverArgs: string[];
  select: string[];
  ignore: string[];
  severity: Record<string, RuleSeverity>;
  codeLens: boolean;
  trace: { server: TraceLevel };
}

export const DEFAULTS: Readonly<AlembicEnvSettings> = Object.freeze<AlembicEnvSettings>({
  enable: true,
  interpreter: '',
  importStrategy: 'useBundled',
  serverArgs: [],
  select: [],
  ignore: [],
  severity: {},
  codeLens: true,
  trace: { server: 'off' },
});

const SEVERITIES: readonly RuleSeverity[] = ['error', 'warning', 'info', 'hint'];
const TRACE_LEVELS: readonly TraceLevel[] = ['off', 'messages', 'verbose'];
const STRATEGIES: readonly ImportStrategy[] = ['useBundled', 'fromEnvironment'];

/** Settings whose change restarts (or stops) the server; the rest reach it live. */
export const RESTART_KEYS = ['enable', 'interpreter', 'importStrategy', 'serverArgs'] as const;

export interface Cleaned {
  settings: AlembicEnvSettings;
  /** One human-readable line per value that was dropped or replaced by its default. */
  problems: string[];
}

/** Where a value may come from: `WorkspaceConfiguration.get`, or any object (tests, JSON). */
export interface SettingsSource {
  get<T>(key: string): T | undefined;
}

function stringList(name: string, value: unknown, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${SECTION}.${name} must be a list of strings; ignored`);
    return [];
  }
  const out: string[] = [];
  for (const item of value) {
    if (typeof item === 'string' && item.trim() !== '') out.push(item.trim());
    else problems.push(`${SECTION}.${name}: ${JSON.stringify(item)} is not a non-empty string; ignored`);
  }
  return out;
}

function bool(name: keyof AlembicEnvSettings, value: unknown, problems: string[]): boolean {
  if (value === undefined || value === null) return DEFAULTS[name] as boolean;
  if (typeof value === 'boolean') return value;
  problems.push(`${SECTION}.${name} must be true or false; using ${String(DEFAULTS[name])}`);
  return DEFAULTS[name] as boolean;
}

/** Turns whatever the user wrote into well-typed settings, collecting what was wrong. */
export function cleanSettings(source: SettingsSource): Cleaned {
  const problems: string[] = [];
  const interpreterRaw = source.get<unknown>('interpreter');
  let interpreter = '';
  if (typeof interpreterRaw === 'string') interpreter = interpreterRaw.trim();
  else if (interpreterRaw !== undefined && interpreterRaw !== null) problems.push(`${SECTION}.interpreter must be a string; ignored`);

  const severityRaw = source.get<unknown>('severity');
  const severity: Record<string, RuleSeverity> = {};
  if (severityRaw !== undefined && severityRaw !== null) {
    if (typeof severityRaw !== 'object' || Array.isArray(severityRaw)) {
      problems.push(`${SECTION}.severity must be an object such as {"ENV030": "info"}; ignored`);
    } else {
      for (const [rule, level] of Object.entries(severityRaw as Record<string, unknown>)) {
        const normalized = typeof level === 'string' ? level.trim().toLowerCase() : level;
        if (typeof normalized === 'string' && (SEVERITIES as readonly string[]).includes(normalized) && rule.trim() !== '') {
          severity[rule.trim()] = normalized as RuleSeverity;
        } else {
          problems.push(`${SECTION}.severity.${rule}: ${JSON.stringify(level)} is not one of ${SEVERITIES.join(', ')}; ignored`);
        }
      }
    }
  }

  const traceRaw = source.get<unknown>('trace.server');
  let trace: TraceLevel = 'off';
  if (typeof traceRaw === 'string' && (TRACE_LEVELS as readonly string[]).includes(traceRaw)) trace = traceRaw as TraceLevel;
  else if (traceRaw !== undefined && traceRaw !== null) problems.push(`${SECTION}.trace.server must be one of ${TRACE_LEVELS.join(', ')}; using off`);

  const strategyRaw = source.get<unknown>('importStrategy');
  let importStrategy: ImportStrategy = DEFAULTS.importStrategy;
  if (typeof strategyRaw === 'string' && (STRATEGIES as readonly string[]).includes(strategyRaw)) importStrategy = strategyRaw as ImportStrategy;
  else if (strategyRaw !== undefined && strategyRaw !== null) problems.push(`${SECTION}.importStrategy must be one of ${STRATEGIES.join(', ')}; using ${DEFAULTS.importStrategy}`);

  const settings: AlembicEnvSettings = {
    enable: bool('enable', source.get<unknown>('enable'), problems),
    interpreter,
    importStrategy,
    serverArgs: stringList('serverArgs', source.get<unknown>('serverArgs'), problems),
    select: stringList('select', source.get<unknown>('select'), problems),
    ignore: stringList('ignore', source.get<unknown>('ignore'), problems),
    severity,
    codeLens: bool('codeLens', source.get<unknown>('codeLens'), problems),
    trace: { server: trace },
  };
  return { settings, problems };
}

/** The first workspace folder: the scope for the server-wide settings (interpreter, args). */
export function primaryFolder(): WorkspaceFolder | undefined {
  return vsc.getWorkspaceFolders()[0];
}

/** Settings for one scope (a folder or document URI); no scope = the first folder, else global. */
export function readSettingsWithProblems(scope?: Uri | WorkspaceFolder | null): Cleaned {
  const effective = scope ?? primaryFolder()?.uri ?? null;
  return cleanSettings(vsc.getConfiguration(SECTION, effective));
}

export function readSettings(scope?: Uri | WorkspaceFolder | null): AlembicEnvSettings {
  return readSettingsWithProblems(scope).settings;
}

/** `initializationOptions` as the server expects them. */
export function initializationOptions(): { settings: AlembicEnvSettings } {
  return { settings: readSettings() };
}

/** Answers one `workspace/configuration` item for our section (`scopeUri` as sent by the server). */
export function configurationFor(scopeUri: string | undefined): AlembicEnvSettings {
  return readSettings(scopeUri ? vsc.uriParse(scopeUri) : undefined);
}

export type ChangeKind = 'none' | 'live' | 'restart';

/** What a configuration change means for the running server. */
export function classifyChange(event: Pick<ConfigurationChangeEvent, 'affectsConfiguration'>): ChangeKind {
  if (!event.affectsConfiguration(SECTION)) return 'none';
  // The interpreter, arguments and on/off switch are read from the first folder (or the
  // user settings when no folder is open); a change to any of them restarts the server.
  const scope = primaryFolder()?.uri;
  for (const key of RESTART_KEYS) {
    const full = `${SECTION}.${key}`;
    if (scope ? event.affectsConfiguration(full, scope) : event.affectsConfiguration(full)) return 'restart';
  }
  return 'live';
}
