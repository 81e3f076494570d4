export * from '../../lib/testing/free-port';
