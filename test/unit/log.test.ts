// Log formats: JSON lines by default; with --log-format=text (or Reloader's empty value) logfmt
// lines as Reloader's logrus writes them; Reloader's level names map onto pino's.
import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger, formatLogfmt, pinoLevel } from '../../shared/log.js';

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    stream: new Writable({
      write(c: Buffer, _e, done) {
        lines.push(c.toString());
        done();
      },
    }),
  };
}

t.test('text: logfmt with time, level and msg first, words bare and the rest quoted', async (t) => {
  const { stream, lines } = capture();
  const log = createLogger('info', 'watcher', stream, 'text');
  log.warn({ setting: '--enable-pprof', count: 3, nested: { a: 1 } }, 'no "pprof" here');
  log.debug('hidden');
  t.equal(lines.length, 1);
  t.match(
    lines[0],
    /^time=\d{4}-\d\d-\d\dT[\d:.]+Z level=warning msg="no \\"pprof\\" here" component=watcher setting=--enable-pprof count=3 nested="{\\"a\\":1}"\n$/,
  );
  t.notMatch(lines[0], /pid=|hostname=/);
});

t.test('json stays the default', async (t) => {
  const { stream, lines } = capture();
  createLogger('info', 'webhook', stream).info({ x: 1 }, 'hello');
  t.match(JSON.parse(lines[0]!), { level: 30, component: 'webhook', msg: 'hello', x: 1 });
});

t.test("Reloader's level names", async (t) => {
  t.equal(pinoLevel('warning'), 'warn');
  t.equal(pinoLevel('PANIC'), 'fatal');
  t.equal(pinoLevel('Debug'), 'debug');
  const { stream, lines } = capture();
  const log = createLogger('warning', 'x', stream);
  log.info('no');
  log.warn('yes');
  t.equal(lines.length, 1);
  t.equal(formatLogfmt('not json'), 'not json\n', 'a line that is not JSON passes through');
});
