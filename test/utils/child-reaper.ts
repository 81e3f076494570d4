export * from '../../lib/testing/child-reaper';
