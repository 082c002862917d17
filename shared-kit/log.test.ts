/**
 * The one logger: pretty only on a terminal (or when asked), JSON otherwise; and credentials
 * redacted wherever they sit in what is logged, at every level, as the gateway and the services
 * log them (request headers, call metadata, an error's context).
 */
import pino from 'pino';
import { isPretty, loggerOptions } from './log';

describe('isPretty', () => {
  const tty = process.stdout.isTTY;
  afterEach(() => {
    process.stdout.isTTY = tty;
  });

  it.each([
    ['auto', true, true],
    ['auto', false, false],
    ['pretty', false, true],
    ['json', true, false],
  ] as const)('format %s with stdout a terminal: %s -> pretty %s', (format, terminal, pretty) => {
    process.stdout.isTTY = terminal;
    expect(isPretty({ level: 'info', format })).toBe(pretty);
  });
});

describe('redaction', () => {
  const SECRET = 'c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw';
  const lines: string[] = [];
  const { stream: _pretty, ...options } = loggerOptions('test', { level: 'trace', format: 'json' });
  const log = pino(options, { write: (l: string) => lines.push(l) });

  it.each(['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const)('at %s, top level and nested two deep, every credential key', (level) => {
    lines.length = 0;
    const creds = {
      authorization: `Bearer ${SECRET}`,
      cookie: `s=${SECRET}`,
      'set-cookie': `s=${SECRET}`,
      token: SECRET,
      accessToken: SECRET,
      access_token: SECRET,
      refreshToken: SECRET,
      password: SECRET,
      'x-api-key': SECRET,
    };
    log[level]({ ...creds, headers: creds, call: { metadata: creds } }, 'something');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET);
    const entry = JSON.parse(lines[0]) as Record<string, Record<string, Record<string, string>>>;
    expect(entry.headers.authorization).toBe('[redacted]');
    expect(entry.call.metadata['x-api-key']).toBe('[redacted]');
  });
});
