import { Cluster, Redis } from 'ioredis';
import { InvalidOptionError } from '../../lib';
import { threadOptions } from '../../lib/redis/thread-options';

// The heartbeat thread gets a structured clone of the connection options: functions cannot cross.
describe('threadOptions', () => {
  const redisDefaults = new Redis({ lazyConnect: true }).options;
  const clusterDefaults = new Cluster([], { lazyConnect: true }).options;

  it("drops ioredis's own default functions and keeps data (TLS buffers, sentinels)", () => {
    const ca = Buffer.from('ca');
    const options = new Redis({ lazyConnect: true, sentinels: [{ host: 'a', port: 1 }], name: 'm', tls: { ca } })
      .options;
    const copy = threadOptions(options, redisDefaults, 'connection');
    expect(() => structuredClone(copy)).not.toThrow();
    expect(copy.sentinels).toEqual([{ host: 'a', port: 1 }]);
    expect(Buffer.from(copy.tls!.ca as Buffer).equals(ca)).toBe(true);
    expect(copy.retryStrategy).toBeUndefined();
  });

  it('replaces reconnect timing given as functions by the defaults (documented), on one node and on a cluster', () => {
    const single = threadOptions({ retryStrategy: () => 5, reconnectOnError: () => true }, redisDefaults, 'connection');
    expect(single).toEqual({});
    const cluster = threadOptions(
      { clusterRetryStrategy: () => 5, redisOptions: { retryStrategy: () => 1 } },
      clusterDefaults,
      'connection.cluster.options',
    );
    expect(cluster).toEqual({ redisOptions: {} });
  });

  it('fails naming a function that decides where or how to connect', () => {
    const attempt =
      (options: object, path = 'connection') =>
      () =>
        threadOptions(options, redisDefaults, path);
    expect(attempt({ tls: { checkServerIdentity: () => undefined } })).toThrow(InvalidOptionError);
    expect(attempt({ tls: { checkServerIdentity: () => undefined } })).toThrow(/connection\.tls\.checkServerIdentity/);
    expect(() =>
      threadOptions({ natMap: () => ({ host: 'x', port: 1 }) }, clusterDefaults, 'connection.cluster.options'),
    ).toThrow(/connection\.cluster\.options\.natMap/);
    expect(() => threadOptions({ dnsLookup: () => undefined }, clusterDefaults, 'connection.cluster.options')).toThrow(
      /dnsLookup/,
    );
  });
});
