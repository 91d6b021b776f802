// aws-local-stepfunctions 3 relies on Promise.withResolvers (Node 22+); Node 20 needs the polyfill.
import '../lib/local/promise-with-resolvers';
import '../lib/node-warnings';
