import type { Route } from '../transcode';
import type { Call, Handler, InterceptorFactory, Result } from './call';
import { compileRouteHandlers, compose } from './compose';

const route = (name: string): Route => ({ rpc: { name } }) as unknown as Route;
const call = {} as Call;
const done: Result = { message: new Uint8Array(), headers: [], trailers: [] };

/** An interceptor that records entering and leaving under `name`. */
const tracer =
  (log: string[], name: string) =>
  (next: Handler): Handler =>
  async (c) => {
    log.push(`>${name}`);
    const r = await next(c);
    log.push(`<${name}`);
    return r;
  };

describe('compose', () => {
  it('runs the first interceptor outermost, then the last handler', async () => {
    const log: string[] = [];
    const h = compose([tracer(log, 'a'), tracer(log, 'b')], async () => {
      log.push('call');
      return done;
    });
    await expect(h(call)).resolves.toBe(done);
    expect(log).toEqual(['>a', '>b', 'call', '<b', '<a']);
  });

  it('with no interceptors is the last handler itself', () => {
    const last: Handler = async () => done;
    expect(compose([], last)).toBe(last);
  });

  it('an interceptor may answer without calling next (a local handler) or refuse with a throw', async () => {
    const local = compose([() => async () => done], async () => {
      throw new Error('not reached');
    });
    await expect(local(call)).resolves.toBe(done);
    const refusing = compose(
      [
        () => async () => {
          throw new Error('refused');
        },
      ],
      async () => done,
    );
    await expect(refusing(call)).rejects.toThrow('refused');
  });
});

describe('compileRouteHandlers', () => {
  it('composes per route, once, with only the factories that apply to it', async () => {
    const log: string[] = [];
    const compiled: string[] = [];
    const onlyA: InterceptorFactory = (r) => {
      compiled.push(r.rpc.name);
      return r.rpc.name === 'A' ? tracer(log, 'onlyA') : undefined;
    };
    const everywhere: InterceptorFactory = () => tracer(log, 'all');
    const handlers = compileRouteHandlers([route('A'), route('B')], [onlyA, everywhere], (r) => async () => {
      log.push(`call ${r.rpc.name}`);
      return done;
    });
    expect(compiled).toEqual(['A', 'B']);
    const [a, b] = [...handlers.values()];
    await a(call);
    await b(call);
    await b(call);
    expect(compiled).toEqual(['A', 'B']); // nothing compiled per request
    expect(log).toEqual(['>onlyA', '>all', 'call A', '<all', '<onlyA', '>all', 'call B', '<all', '>all', 'call B', '<all']);
  });
});
